import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { freePort } from '../../../../../test/support/ports.js';

/** What an image runs: a local command standing in for the image's entrypoint. */
export interface ImageSpec {
  command: string;
  args: string[];
  /** The image's own environment (its Dockerfile `ENV`); the app's env vars win. */
  env?: Record<string, string>;
}

export interface EnvVar {
  key: string;
  value: string;
}

export interface PortMapping {
  containerPort: number;
  hostPort: number;
}

/** The Docker service CapRover keeps for one app: what it runs, with what, how many. */
export interface ServiceSpec {
  image: ImageSpec;
  envVars: EnvVar[];
  instanceCount: number;
  ports: PortMapping[];
}

/** CapRover keeps this many log lines of a service (`appLogSize`). */
const LOG_FRAMES = 500;
const STOP_GRACE_MS = 5_000;

interface Container {
  child: ChildProcess;
  listeners: net.Server[];
  stopping: boolean;
  exited: Promise<void>;
}

/**
 * The stand-in's Docker swarm service for one app: one local process per running service (a
 * container would get its own network namespace; the process is told a private loopback port in
 * `PORT` instead), published ports forwarded to it only when the mapping's container port is the
 * port the app says it listens on (its `PORT` env var), a crashed process restarted after
 * `restartDelay` (swarm's restart policy), and output kept as Docker's framed log stream.
 */
export class StandInService {
  private desired?: ServiceSpec;
  private running?: { key: string; container: Container };
  private chain: Promise<void> = Promise.resolve();
  private readonly frames: Buffer[] = [];
  private closed = false;
  restarts = 0;

  constructor(
    readonly name: string,
    private readonly restartDelay: number,
  ) {}

  /** Converges on `spec` (undefined or no instances: nothing runs), as swarm does, afterwards. */
  apply(spec: ServiceSpec | undefined): Promise<void> {
    this.desired = spec && spec.instanceCount > 0 ? spec : undefined;
    this.chain = this.chain.then(() => this.converge()).catch(() => undefined);
    return this.chain;
  }

  /** The process behind the service, while one runs. */
  get pid(): number | undefined {
    return this.running?.container.child.pid;
  }

  /** Kills the running container as a crash would (swarm then restarts it). */
  crash(): void {
    this.running?.container.child.kill('SIGKILL');
  }

  /** The service log as `docker service logs` streams it: 8-byte headers, then the line. */
  logStream(): Buffer {
    return Buffer.concat(this.frames);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.desired = undefined;
    await this.apply(undefined);
  }

  private async converge(): Promise<void> {
    const key = this.desired ? JSON.stringify(this.desired) : undefined;
    if (this.running && this.running.key === key) return;
    if (this.running) {
      const { container } = this.running;
      this.running = undefined;
      await stopContainer(container);
    }
    if (this.desired && key && !this.closed)
      this.running = { key, container: await this.launch(this.desired) };
  }

  private async launch(spec: ServiceSpec): Promise<Container> {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...spec.image.env };
    for (const { key, value } of spec.envVars) env[key] = value;
    const declaredPort = Number(env.PORT);
    const privatePort = await freePort();
    const child = spawn(spec.image.command, spec.image.args, {
      env: { ...env, PORT: String(privatePort), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.on('error', (error) => this.log(2, `container could not start: ${error.message}`));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.log(1, line));
    readline.createInterface({ input: child.stderr! }).on('line', (line) => this.log(2, line));
    const listeners = await Promise.all(
      spec.ports.map((mapping) =>
        publish(mapping.hostPort, mapping.containerPort === declaredPort ? privatePort : undefined),
      ),
    );
    const container: Container = {
      child,
      listeners,
      stopping: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    child.once('exit', (code, signal) => {
      closeListeners(listeners);
      if (container.stopping) return;
      this.log(2, `container exited (${signal ?? `code ${code}`}); restarting`);
      if (this.running?.container === container) this.running = undefined;
      setTimeout(() => {
        if (this.closed) return;
        this.restarts++;
        this.chain = this.chain.then(() => this.converge()).catch(() => undefined);
      }, this.restartDelay).unref();
    });
    return container;
  }

  private log(stream: 1 | 2, line: string): void {
    const payload = Buffer.from(`${new Date().toISOString()} ${line}\n`);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    this.frames.push(Buffer.concat([header, payload]));
    if (this.frames.length > LOG_FRAMES) this.frames.shift();
  }
}

async function stopContainer(container: Container): Promise<void> {
  container.stopping = true;
  // Published ports go first, so no new connection reaches a process that is draining.
  closeListeners(container.listeners);
  if (container.child.exitCode !== null || container.child.signalCode !== null) return;
  container.child.kill('SIGTERM');
  const killer = setTimeout(() => container.child.kill('SIGKILL'), STOP_GRACE_MS);
  await container.exited;
  clearTimeout(killer);
}

/** Listens on 127.0.0.1:hostPort and forwards to the process, or resets when nothing listens. */
function publish(hostPort: number, privatePort: number | undefined): Promise<net.Server> {
  const server = net.createServer((socket) => {
    if (privatePort === undefined) return void socket.resetAndDestroy();
    const upstream = net.connect(privatePort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const destroy = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', destroy);
    upstream.on('error', destroy);
    socket.on('close', destroy);
    upstream.on('close', destroy);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(hostPort, '127.0.0.1', () => resolve(server));
  });
}

/** Stops accepting at once; connections already forwarded finish with the process. */
function closeListeners(listeners: net.Server[]): void {
  for (const server of listeners) if (server.listening) server.close();
}
