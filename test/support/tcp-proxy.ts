import net from 'node:net';

/**
 * A TCP proxy a test controls, placed between a client and a real server to simulate an outage
 * without stopping the shared server: `cut()` destroys every open connection and refuses new
 * ones (the port stops listening, so connects get ECONNREFUSED); `restore()` listens again on
 * the same port.
 * @example
 * const proxy = await TcpProxy.start(0, '127.0.0.1', 5432);
 * const url = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
 * await proxy.cut(); ...; await proxy.restore(); ...; await proxy.close();
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private listening = false;
  private closed = false;
  private listenPort: number;

  private constructor(
    private readonly server: net.Server,
    readonly targetHost: string,
    readonly targetPort: number,
    listenPort: number,
    readonly host: string,
  ) {
    this.listenPort = listenPort;
  }

  /** Starts listening on `listenPort` (0 picks a free one) of 127.0.0.1, forwarding to the target. */
  static async start(
    listenPort: number,
    targetHost: string,
    targetPort: number,
    host = '127.0.0.1',
  ): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, targetHost, targetPort, listenPort, host);
    server.on('connection', (client) => proxy.forward(client));
    await proxy.listen();
    return proxy;
  }

  /** The port clients connect to; stays the same across cut() and restore(). */
  get port(): number {
    return this.listenPort;
  }

  /** Open client-side plus server-side sockets. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Destroys every connection and stops accepting new ones. */
  async cut(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closing;
  }

  /** Accepts connections again on the same port. */
  async restore(): Promise<void> {
    if (this.listening || this.closed) return;
    await this.listen();
  }

  /** Cuts everything and releases the port for good. */
  async close(): Promise<void> {
    await this.cut();
    this.closed = true;
  }

  private listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listenPort, this.host, () => {
        this.server.off('error', reject);
        this.listenPort = (this.server.address() as net.AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  private forward(client: net.Socket): void {
    if (!this.listening) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    const pair = [client, upstream];
    for (const socket of pair) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      // One side failing or closing ends the other: the client sees the connection drop.
      socket.on('error', () => pair.forEach((s) => s.destroy()));
      socket.on('close', () => {
        this.sockets.delete(socket);
        pair.forEach((s) => s.destroy());
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
