import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createApp, definePlugin, type App, type AppOptions } from '../index.js';
import { captureLogs } from '../../test/support/http.js';

const apps: App[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

const hello = definePlugin({
  name: 'hello',
  routes: [{ method: 'get', path: '/hello', handler: (_req, res) => void res.end('hello') }],
});

async function start(
  server: AppOptions['server'],
): Promise<{ app: App; port: number; logs: Record<string, unknown>[] }> {
  const capture = captureLogs();
  const app = createApp({
    name: 'edge',
    port: 0,
    host: '127.0.0.1',
    server,
    plugins: [hello],
    logger: { destination: capture.stream, level: 'info' },
    shutdown: { signals: false, drainTimeout: 500 },
  });
  apps.push(app);
  await app.start();
  return { app, port: (app.server.address() as net.AddressInfo).port, logs: capture.lines };
}

/** A real client connection that records what it receives and when the server closed it. */
async function connect(
  port: number,
): Promise<{ socket: net.Socket; received: () => string; closed: Promise<number> }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(Date.now() - opened)),
  );
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, received: () => received, closed };
}

/** Sends one keep-alive request and waits for its answer, so the server has surely counted the connection. */
async function served(connection: Awaited<ReturnType<typeof connect>>): Promise<void> {
  connection.socket.write('GET /hello HTTP/1.1\r\nHost: edge\r\n\r\n');
  const deadline = Date.now() + 2_000;
  while (!connection.received().endsWith('hello') && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  expect(connection.received()).toMatch(/^HTTP\/1\.1 200 [\s\S]*hello$/);
}

const within = (promise: Promise<number>, ms: number) =>
  Promise.race([
    promise,
    new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), ms)),
  ]);

describe('slow and idle connections', () => {
  it('defaults to limits for a server on the internet', async () => {
    const { app } = await start(undefined);
    expect(app.server.headersTimeout).toBe(10_000);
    expect(app.server.requestTimeout).toBe(300_000);
    expect(app.server.keepAliveTimeout).toBe(5_000);
    expect(app.server.maxConnections).toBe(10_000);
  });

  // Node 20 starts headersTimeout when the connection is accepted: a client that never sends a
  // byte is cut like one that sends too slowly, once the periodic check sees it.
  it('closes a connection that sends nothing once headersTimeout has passed', async () => {
    const { port } = await start({
      headersTimeout: 300,
      requestTimeout: 2_000,
      connectionsCheckingInterval: 50,
    });
    const silent = await connect(port);
    const closedAfter = await within(silent.closed, 1_500);
    expect(closedAfter).toBeGreaterThanOrEqual(250);
    expect(closedAfter).toBeLessThan(1_500);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection that sends its head a byte at a time, though it never goes quiet', async () => {
    const { port } = await start({
      headersTimeout: 300,
      requestTimeout: 2_000,
      connectionsCheckingInterval: 50,
    });
    const slow = await connect(port);
    const head = `GET /hello HTTP/1.1\r\nHost: edge\r\nX-Padding: ${'a'.repeat(200)}`;
    let sent = 0;
    const drip = setInterval(
      () => slow.socket.writable && slow.socket.write(head[sent++] ?? 'a'),
      20,
    );
    const closedAfter = await within(slow.closed, 1_500);
    clearInterval(drip);
    expect(closedAfter).toBeGreaterThanOrEqual(250);
    expect(closedAfter).toBeLessThan(1_500);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('connection caps', () => {
  it('closes connections beyond maxConnectionsPerAddress at accept, and admits again once one closes', async () => {
    const { port, logs } = await start({ maxConnectionsPerAddress: 3 });
    const held = [await connect(port), await connect(port), await connect(port)];
    for (const connection of held) await served(connection);
    const excess = await connect(port);
    excess.socket.write('GET /hello HTTP/1.1\r\nHost: edge\r\n\r\n');
    expect(await within(excess.closed, 1_000)).toBeLessThan(1_000);
    expect(excess.received()).toBe('');
    expect(
      logs.find((line) => String(line.msg).includes('maxConnectionsPerAddress')),
    ).toMatchObject({ level: 'warn', maxConnectionsPerAddress: 3, refused: 1 });

    held[0].socket.destroy();
    await held[0].closed;
    // The server sees the close a moment after the client does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await served(await connect(port));
  });

  it('closes connections beyond maxConnections at accept', async () => {
    const { port, logs } = await start({ maxConnections: 2 });
    const held = [await connect(port), await connect(port)];
    for (const connection of held) await served(connection);
    const excess = await connect(port);
    expect(await within(excess.closed, 1_000)).toBeLessThan(1_000);
    expect(excess.received()).toBe('');
    expect(logs.find((line) => String(line.msg).includes('maxConnections'))).toMatchObject({
      level: 'warn',
      maxConnections: 2,
      dropped: 1,
    });
  });

  it('refuses invalid limits at start-up, naming each option', () => {
    const attempt = (server: Record<string, unknown>) => () =>
      createApp({
        name: 'edge',
        logger: { level: 'silent' },
        server: server as AppOptions['server'],
      });
    expect(attempt({ headersTimeout: 0 })).toThrow(ConfigError);
    expect(attempt({ headersTimeout: 0 })).toThrow(
      /server\.headersTimeout: expected milliseconds \(a positive whole number\), received 0/,
    );
    expect(attempt({ maxConnectionsPerAddress: 'many', connectionsCheckingInterval: -5 })).toThrow(
      /server\.connectionsCheckingInterval: expected milliseconds[\s\S]*server\.maxConnectionsPerAddress: expected a connection count/,
    );
    expect(attempt({ headersTimeout: 60_000, requestTimeout: 30_000 })).toThrow(
      /server\.headersTimeout: expected at most server\.requestTimeout/,
    );
    expect(attempt({ idleTimeout: 5 })).toThrow(/server: expected no such option \(idleTimeout\)/);
  });
});
