import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App, type AppOptions, type HealthCheckSnapshot } from '../../index.js';
import { baseUrl, waitFor } from '../../../test/support/http.js';
import { createHealthPlugin, type HealthCheckOptions, type HealthReport } from './index.js';

const apps: App[] = [];
const servers: (http.Server | net.Server)[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(
    servers.splice(0).map((server) => {
      // Pooled keep-alive connections from the checks would otherwise hold close() for seconds.
      if (server instanceof http.Server) server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

async function startApp(
  checks: HealthCheckOptions[],
  extra: AppOptions['plugins'] = [],
): Promise<App> {
  const app = createApp({
    name: 'checks-test',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [createHealthPlugin({ checks }), ...extra],
  });
  apps.push(app);
  await app.start();
  return app;
}

async function report(app: App): Promise<HealthReport> {
  return (await (await fetch(`${baseUrl(app)}/api/health`)).json()) as HealthReport;
}

function check(body: HealthReport, name: string): HealthCheckSnapshot {
  const found = body.checks.find((entry) => entry.name === name);
  if (!found) throw new Error(`no check named ${name} in the report`);
  return found;
}

async function listen<T extends http.Server | net.Server>(server: T): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nobody listens on: bound once to learn a free number, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('check scheduling and caching', () => {
  it('answers probes and the report from the cache while a slow check is still running', async () => {
    let runs = 0;
    let settled = false;
    let release!: () => void;
    let secondRunStarted!: () => void;
    const inSecondRun = new Promise<void>((resolve) => (secondRunStarted = resolve));
    const app = await startApp([
      {
        type: 'custom',
        name: 'slow',
        interval: 20,
        timeout: 10_000,
        run: async () => {
          runs++;
          if (runs === 1) return; // the start-up run is quick, so the cache holds "healthy"
          secondRunStarted();
          // Takes 2 s unless the test releases it earlier.
          await new Promise<void>((resolve) => {
            release = resolve;
            setTimeout(resolve, 2_000);
          });
          settled = true;
        },
      },
    ]);
    await inSecondRun;
    for (const path of ['/health/ready', '/health/live', '/health/startup']) {
      const response = await fetch(`${baseUrl(app)}${path}`);
      expect(response.status).toBe(200);
      expect(settled).toBe(false);
    }
    expect(check(await report(app), 'slow').status).toBe('healthy');
    expect(settled).toBe(false);
    expect(runs).toBe(2); // the probes did not start runs of their own
    release();
  });

  it('marks a check that exceeds its timeout unhealthy, naming the timeout', async () => {
    const app = await startApp([
      {
        type: 'custom',
        name: 'hangs',
        critical: false,
        timeout: 100,
        run: () => new Promise(() => undefined),
      },
    ]);
    const snapshot = check(await report(app), 'hangs');
    expect(snapshot.status).toBe('unhealthy');
    expect(snapshot.lastError).toBe('timed out after 100 ms');
    expect(Date.parse(snapshot.lastErrorAt!)).not.toBeNaN();
    expect(snapshot.latencyMs).toBeGreaterThanOrEqual(99);
  });

  it('a failing critical check makes readiness 503 and the report unhealthy', async () => {
    const app = await startApp([
      {
        type: 'custom',
        name: 'database',
        run: async () => {
          throw new Error('connection refused');
        },
      },
      { type: 'custom', name: 'fine', run: async () => undefined },
    ]);
    const ready = await fetch(`${baseUrl(app)}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable' });
    expect((await fetch(`${baseUrl(app)}/health/live`)).status).toBe(200);
    const response = await fetch(`${baseUrl(app)}/api/health`);
    expect(response.status).toBe(200); // a report, not a probe
    const body = (await response.json()) as HealthReport;
    expect(body).toMatchObject({ status: 'unhealthy', ready: false, phase: 'ready' });
    expect(check(body, 'database')).toMatchObject({
      critical: true,
      status: 'unhealthy',
      lastError: 'connection refused',
    });
  });

  it('a failing informational check keeps readiness 200 and degrades the report', async () => {
    const app = await startApp([
      {
        type: 'custom',
        name: 'metrics',
        critical: false,
        run: async () => {
          throw new Error('exporter down');
        },
      },
      { type: 'custom', name: 'database', run: async () => undefined },
    ]);
    expect((await fetch(`${baseUrl(app)}/health/ready`)).status).toBe(200);
    const body = await report(app);
    expect(body).toMatchObject({ status: 'degraded', ready: true });
    expect(check(body, 'metrics')).toMatchObject({
      critical: false,
      status: 'unhealthy',
      lastError: 'exporter down',
    });
  });

  it('follows a critical check as it fails and recovers on its interval', async () => {
    let failing = false;
    const app = await startApp([
      {
        type: 'custom',
        name: 'flaky',
        interval: 25,
        run: async () => {
          if (failing) throw new Error('down');
        },
      },
    ]);
    const readyStatus = async () => (await fetch(`${baseUrl(app)}/health/ready`)).status;
    expect(await readyStatus()).toBe(200);
    failing = true;
    await waitFor(async () => (await readyStatus()) === 503, 'readiness 503 after the check fails');
    failing = false;
    await waitFor(
      async () => (await readyStatus()) === 200,
      'readiness 200 after the check recovers',
    );
    const history = check(await report(app), 'flaky').history.map((entry) => entry.status);
    expect(history).toContain('unhealthy');
    expect(history.at(-1)).toBe('healthy');
  });
});

describe('http checks', () => {
  it('checks a real local server: up, wrong status, expected status, slow, down, credentials', async () => {
    let authorization: string | undefined;
    const upstream = http.createServer((req, res) => {
      if (req.url === '/ok') res.end('fine');
      else if (req.url === '/broken') res.writeHead(500).end('no');
      else if (req.url === '/slow') setTimeout(() => res.end('late'), 1_000);
      else if (req.url === '/private') {
        authorization = req.headers.authorization;
        res.writeHead(authorization ? 204 : 401).end();
      } else res.writeHead(404).end();
    });
    const port = await listen(upstream);
    const down = await closedPort();
    const base = `http://127.0.0.1:${port}`;
    const app = await startApp([
      { type: 'http', name: 'up', url: `${base}/ok`, critical: false },
      { type: 'http', name: 'wrong-status', url: `${base}/broken`, critical: false },
      {
        type: 'http',
        name: 'expected-500',
        url: `${base}/broken`,
        expectStatus: [500, 503],
        critical: false,
      },
      { type: 'http', name: 'slow', url: `${base}/slow`, timeout: 150, critical: false },
      { type: 'http', name: 'down', url: `http://127.0.0.1:${down}/ok`, critical: false },
      {
        type: 'http',
        name: 'private',
        url: `http://probe:s3cret@127.0.0.1:${port}/private`,
        critical: false,
      },
    ]);
    const body = await report(app);
    expect(check(body, 'up')).toMatchObject({
      status: 'healthy',
      details: { url: `${base}/ok`, statusCode: 200 },
    });
    expect(check(body, 'wrong-status')).toMatchObject({
      status: 'unhealthy',
      lastError: `GET ${base}/broken answered 500, expected a 2xx status`,
    });
    expect(check(body, 'expected-500')).toMatchObject({
      status: 'healthy',
      details: { statusCode: 500 },
    });
    expect(check(body, 'slow').status).toBe('unhealthy');
    expect(check(body, 'slow').lastError).toMatch(/timed out after 150 ms/);
    expect(check(body, 'down').status).toBe('unhealthy');
    expect(check(body, 'down').lastError).toContain('ECONNREFUSED');
    expect(check(body, 'private')).toMatchObject({
      status: 'healthy',
      details: { statusCode: 204 },
    });
    expect(authorization).toBe(`Basic ${Buffer.from('probe:s3cret').toString('base64')}`);
    expect(JSON.stringify(body)).not.toContain('s3cret');
    expect(body.status).toBe('degraded');
  });

  it('notices when the upstream goes down and comes back', async () => {
    const upstream = http.createServer((_req, res) => res.end('ok'));
    const port = await listen(upstream);
    const app = await startApp([
      { type: 'http', name: 'upstream', url: `http://127.0.0.1:${port}/`, interval: 25 },
    ]);
    expect((await fetch(`${baseUrl(app)}/health/ready`)).status).toBe(200);
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    servers.splice(servers.indexOf(upstream), 1);
    await waitFor(
      async () => (await fetch(`${baseUrl(app)}/health/ready`)).status === 503,
      'readiness 503 once the upstream is down',
    );
    const restarted = http.createServer((_req, res) => res.end('ok'));
    servers.push(restarted);
    await new Promise<void>((resolve) => restarted.listen(port, '127.0.0.1', resolve));
    await waitFor(
      async () => (await fetch(`${baseUrl(app)}/health/ready`)).status === 200,
      'readiness 200 once the upstream is back',
    );
  });
});

describe('tcp checks', () => {
  it('connects for real: healthy on a listening port, unhealthy on a closed one', async () => {
    let connections = 0;
    const listening = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    const port = await listen(listening);
    const down = await closedPort();
    const app = await startApp([
      { type: 'tcp', name: 'open', host: '127.0.0.1', port },
      { type: 'tcp', name: 'closed', host: '127.0.0.1', port: down, critical: false },
    ]);
    const body = await report(app);
    expect(check(body, 'open')).toMatchObject({
      status: 'healthy',
      details: { host: '127.0.0.1', port },
    });
    expect(check(body, 'closed')).toMatchObject({ status: 'unhealthy' });
    expect(check(body, 'closed').lastError).toBe(
      `TCP connect to 127.0.0.1:${down} failed: connect ECONNREFUSED 127.0.0.1:${down}`,
    );
    await waitFor(() => connections >= 1, 'the listening server saw the connection');
    expect((await fetch(`${baseUrl(app)}/health/ready`)).status).toBe(200);
  });
});
