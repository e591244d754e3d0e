import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  HttpError,
  createApp,
  definePlugin,
  type App,
  type AppOptions,
} from '../../index.js';
import { baseUrl, waitFor } from '../../../test/support/http.js';
import { createHealthPlugin, type HealthReport } from './index.js';

const apps: App[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

function startApp(plugins: AppOptions['plugins']): Promise<App> {
  const app = createApp({
    name: 'health-test',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins,
  });
  apps.push(app);
  return app.start().then(() => app);
}

async function probe(
  url: string,
  method = 'GET',
): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(url, { method });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

describe('health probes', () => {
  it('answers GET and HEAD on the three probes with tiny uncached JSON, ignoring the query string', async () => {
    const app = await startApp([createHealthPlugin()]);
    for (const name of ['live', 'ready', 'startup']) {
      const got = await probe(`${baseUrl(app)}/health/${name}?verbose=1&x`);
      expect(got).toMatchObject({ status: 200, body: '{"status":"ok"}' });
      expect(got.headers.get('content-type')).toBe('application/json');
      expect(got.headers.get('cache-control')).toBe('no-store');
      const head = await probe(`${baseUrl(app)}/health/${name}`, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(head.headers.get('content-length')).toBe(String('{"status":"ok"}'.length));
    }
  });

  it('answers the bare /health with the cached readiness, like /health/ready, open behind a guard', async () => {
    let failing = false;
    const app = await startApp([
      createHealthPlugin({
        checks: [
          {
            type: 'custom',
            name: 'queue',
            interval: 50,
            run: async () => {
              if (failing) throw new Error('queue down');
            },
          },
        ],
      }),
      definePlugin({
        name: 'guard',
        onInit: (context) =>
          context.app.setAdminGuard({
            name: 'deny',
            middleware: (_req, _res, next) =>
              next(new HttpError(401, 'GUARD_DENIED', 'Sign in first.')),
          }),
      }),
    ]);
    const url = baseUrl(app);
    const healthy = await probe(`${url}/health?verbose=1`);
    expect(healthy).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect(healthy.headers.get('cache-control')).toBe('no-store');
    expect(await probe(`${url}/health`, 'HEAD')).toMatchObject({ status: 200, body: '' });
    // A critical check fails: both readiness answers turn 503 together; liveness stays 200.
    failing = true;
    await waitFor(async () => (await probe(`${url}/health/ready`)).status === 503, 'readiness 503');
    expect(await probe(`${url}/health`)).toMatchObject({
      status: 503,
      body: '{"status":"unavailable"}',
    });
    expect((await probe(`${url}/health/live`)).status).toBe(200);
    const post = await fetch(`${url}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({
      code: 'HEALTH_METHOD_NOT_ALLOWED',
      instance: '/health',
    });
    failing = false;
    await waitFor(async () => (await probe(`${url}/health`)).status === 200, 'readiness back');
    const stopping = app.stop({ readinessDelay: 300 });
    expect(await probe(`${url}/health`)).toMatchObject({
      status: 503,
      body: '{"status":"shutting_down"}',
    });
    await stopping;
  });

  it('refuses other methods with 405 problem+json and leaves unknown /health paths to the normal 404', async () => {
    const app = await startApp([createHealthPlugin()]);
    const post = await fetch(`${baseUrl(app)}/health/live`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(post.headers.get('content-type')).toBe('application/problem+json');
    expect(await post.json()).toMatchObject({
      status: 405,
      code: 'HEALTH_METHOD_NOT_ALLOWED',
      instance: '/health/live',
    });

    for (const path of ['/health/foo', '/health/live/extra', '/health/', '/healthz']) {
      const missing = await fetch(`${baseUrl(app)}${path}`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    }
  });

  it('reports startup and readiness 503 "starting" until start-up finishes, while liveness is 200', async () => {
    let releaseStartup!: () => void;
    const startupGate = new Promise<void>((resolve) => (releaseStartup = resolve));
    let onReadyEntered!: () => void;
    const inOnReady = new Promise<void>((resolve) => (onReadyEntered = resolve));
    const app = createApp({
      name: 'health-test',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [
        createHealthPlugin(),
        definePlugin({
          name: 'slow-start',
          onReady: () => {
            onReadyEntered();
            return startupGate;
          },
        }),
      ],
    });
    apps.push(app);
    // The app only listens once start-up is over, so a second real server hands requests to the
    // app's own request listener to observe the probes while start() is still running.
    const window = http.createServer((req, res) => app.server.emit('request', req, res));
    servers.push(window);
    await new Promise<void>((resolve) => window.listen(0, '127.0.0.1', resolve));
    const windowUrl = `http://127.0.0.1:${(window.address() as AddressInfo).port}`;

    const starting = app.start();
    await inOnReady;
    expect(app.context.phase()).toBe('starting');
    expect(await probe(`${windowUrl}/health/live`)).toMatchObject({
      status: 200,
      body: '{"status":"ok"}',
    });
    expect(await probe(`${windowUrl}/health/startup`)).toMatchObject({
      status: 503,
      body: '{"status":"starting"}',
    });
    expect(await probe(`${windowUrl}/health/ready`)).toMatchObject({
      status: 503,
      body: '{"status":"starting"}',
    });

    releaseStartup();
    await starting;
    expect(await probe(`${baseUrl(app)}/health/startup`)).toMatchObject({ status: 200 });
    expect(await probe(`${baseUrl(app)}/health/ready`)).toMatchObject({ status: 200 });
  });

  it('turns readiness 503 "shutting_down" the moment stop begins, while live and startup stay 200', async () => {
    const app = await startApp([createHealthPlugin()]);
    const url = baseUrl(app);
    const stopping = app.stop({ readinessDelay: 300 });
    // Still accepting during the readiness delay: that is the point of the delay.
    expect(await probe(`${url}/health/ready`)).toMatchObject({
      status: 503,
      body: '{"status":"shutting_down"}',
    });
    expect(await probe(`${url}/health/live`)).toMatchObject({ status: 200 });
    expect(await probe(`${url}/health/startup`)).toMatchObject({ status: 200 });
    const report = (await (await fetch(`${url}/api/health`)).json()) as HealthReport;
    expect(report).toMatchObject({ phase: 'stopping', ready: false });
    await stopping;
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  });
});

describe('GET /api/health', () => {
  it('reports status, phase, readiness, uptime and each check, with plugin checks included', async () => {
    const app = await startApp([
      createHealthPlugin({
        checks: [
          {
            type: 'custom',
            name: 'queue',
            critical: false,
            run: async () => ({ status: 'healthy', details: { depth: 3 } }),
          },
        ],
      }),
      definePlugin({ name: 'database', healthCheck: async () => undefined }),
    ]);
    const response = await fetch(`${baseUrl(app)}/api/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const report = (await response.json()) as HealthReport;
    expect(report).toMatchObject({ status: 'healthy', phase: 'ready', ready: true });
    expect(Number.isInteger(report.uptimeSeconds) && report.uptimeSeconds >= 0).toBe(true);
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    expect(byName.queue).toMatchObject({
      plugin: 'health',
      critical: false,
      status: 'healthy',
      details: { depth: 3 },
    });
    expect(byName.database).toMatchObject({
      plugin: 'database',
      critical: true,
      status: 'healthy',
    });
    expect(typeof byName.database.latencyMs).toBe('number');
    expect(Date.parse(byName.database.lastRun!)).not.toBeNaN();
  });

  it('is an admin route behind the app guard, while the probes stay public', async () => {
    const app = await startApp([
      createHealthPlugin(),
      definePlugin({
        name: 'guard',
        onInit: (context) =>
          context.app.setAdminGuard({
            name: 'deny',
            middleware: (_req, _res, next) =>
              next(new HttpError(401, 'GUARD_DENIED', 'Sign in first.')),
          }),
      }),
    ]);
    expect(app.context.routes()).toContainEqual(
      expect.objectContaining({ path: '/api/health', access: 'admin', plugin: 'health' }),
    );
    expect((await fetch(`${baseUrl(app)}/api/health`)).status).toBe(401);
    expect((await probe(`${baseUrl(app)}/health/ready`)).status).toBe(200);
  });

  it('contributes a health page to the control panel, pointing at the report', async () => {
    const app = await startApp([createHealthPlugin()]);
    const contribution = app.context.ui().find((entry) => entry.plugin === 'health')?.contribution;
    expect(contribution?.pages?.[0]?.views).toEqual([
      expect.objectContaining({ kind: 'health', endpoint: '/api/health' }),
    ]);
  });
});

describe('health options', () => {
  it('names every bad option at once', () => {
    const attempt = () =>
      createApp({
        name: 'health-test',
        logger: { level: 'silent' },
        plugins: [
          createHealthPlugin({
            checks: [
              { type: 'http', name: 'api', url: 'ftp://example.test/x', timeout: -1 },
              { type: 'tcp', name: 'api', host: '127.0.0.1', port: 70000 },
              { type: 'custom', name: 'x', run: 'not a function' as never },
              { type: 'smtp', name: 'mail' } as never,
            ],
          }),
        ],
      });
    let error: ConfigError | undefined;
    try {
      attempt();
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues.map((issue) => issue.name)).toEqual([
      'plugins.health.checks.0.timeout',
      'plugins.health.checks.0.url',
      'plugins.health.checks.1.port',
      'plugins.health.checks.2.run',
      'plugins.health.checks.3.type',
    ]);
    expect(error!.message).toContain('an http:// or https:// URL');
  });

  it('refuses two checks with the same name', () => {
    const attempt = () =>
      createApp({
        name: 'health-test',
        logger: { level: 'silent' },
        plugins: [
          createHealthPlugin({
            checks: [
              { type: 'custom', name: 'same', run: async () => undefined },
              { type: 'tcp', name: 'same', host: 'localhost', port: 1 },
            ],
          }),
        ],
      });
    expect(attempt).toThrow(/plugins\.health\.checks\.1\.name: expected a unique check name/);
  });

  it('applies the registry defaults when a plugin check leaves interval, timeout and critical undefined', async () => {
    // An undefined interval used to erase the default and re-run the check every millisecond.
    let runs = 0;
    const app = await startApp([
      definePlugin({
        name: 'cache',
        healthCheck: {
          run: async () => void runs++,
          interval: undefined,
          timeout: undefined,
          critical: undefined,
        },
      }),
      createHealthPlugin(),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runs).toBe(1);
    const check = app.context.health.summary().checks.find((entry) => entry.name === 'cache');
    expect(check).toMatchObject({ critical: true, status: 'healthy' });
    await waitFor(
      async () => (await probe(`${baseUrl(app)}/health/ready`)).status === 200,
      'ready',
    );
  });
});
