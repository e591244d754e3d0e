import { afterEach } from 'vitest';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createApp, type App, type AppOptions } from '../../src/index.js';
import { captureLogs } from './http.js';
import { createRoutingPlugin, type RoutingOptions } from '../../src/plugins/routing/index.js';

export interface TestUpstream {
  url: string;
  port: number;
  server: http.Server;
  /** Requests the upstream has seen, in order. */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A real node:http server standing in for a service behind the gateway. */
export async function startUpstream(
  handler: http.RequestListener = (_req, res) => void res.end('ok'),
): Promise<TestUpstream> {
  const seen: TestUpstream['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface TestGateway {
  app: App;
  url: string;
  port: number;
  logs: Record<string, unknown>[];
}

/** The app under test: createApp with the routing plugin (and any extra plugins), on port 0. */
export async function startGateway(
  options: RoutingOptions,
  extra: NonNullable<AppOptions['plugins']> = [],
  level: 'info' | 'debug' = 'info',
  appOptions: Pick<AppOptions, 'trustProxy'> = {},
): Promise<TestGateway> {
  const capture = captureLogs();
  const app = createApp({
    name: 'gateway-test',
    port: 0,
    host: '127.0.0.1',
    logger: { level, destination: capture.stream, stdout: false },
    shutdown: { signals: false, drainTimeout: 2_000 },
    ...appOptions,
    plugins: [createRoutingPlugin(options), ...extra],
  });
  await app.start();
  const port = (app.server.address() as AddressInfo).port;
  return { app, url: `http://127.0.0.1:${port}`, port, logs: capture.lines };
}

/** Sends raw bytes and collects everything the server answers until it closes (or `timeout`). */
export function rawRequest(port: number, payload: string, timeout = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', done);
    socket.on('close', done);
    socket.setTimeout(timeout, done);
    socket.write(payload);
  });
}

/** node:http request (fetch refuses headers such as Connection); the body is collected as text. */
export function nodeRequest(
  url: string,
  options: http.RequestOptions = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Upstreams and gateways a test file starts, stopped after each test.
 * @example const { upstream, gateway } = useTestServers();
 */
export function useTestServers(): {
  cleanups: (() => Promise<void>)[];
  upstream: (...args: Parameters<typeof startUpstream>) => Promise<TestUpstream>;
  gateway: (...args: Parameters<typeof startGateway>) => Promise<TestGateway>;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  return {
    cleanups,
    upstream: async (...args) => {
      const started = await startUpstream(...args);
      cleanups.push(started.close);
      return started;
    },
    gateway: async (...args) => {
      const started = await startGateway(...args);
      cleanups.push(() => started.app.stop());
      return started;
    },
  };
}
