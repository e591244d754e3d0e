import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CORE_VERSION,
  HttpError,
  MASK,
  createApp,
  definePlugin,
  secret,
  type App,
  type AppOptions,
} from '../../index.js';
import { baseUrl, waitFor } from '../../../test/support/http.js';
import {
  createDiagnosticsPlugin,
  type DiagnosticsOptions,
  type DiagnosticsReport,
} from './index.js';

// Raw secrets; the downloaded report must not contain any of them anywhere.
const RAW = {
  signing: 'sig-material-7f3a9c',
  dbPassword: 'pg-pw-Q8xZ2',
  apiKey: 'ak-live-5d1e0b',
  envPassword: 'env-pw-K3m9',
};
const ENV_NAME = 'QA_DIAG_DATABASE_URL';

const vault = definePlugin({
  name: 'vault',
  version: '2.3.4',
  config: {
    // signingMaterial is secret by schema only: its name alone would not hide it.
    schema: z.object({
      signingMaterial: secret(z.string()),
      databaseUrl: z.string(),
      apiKey: z.string(),
      region: z.string(),
    }),
    options: {
      signingMaterial: RAW.signing,
      databaseUrl: `postgres://app:${RAW.dbPassword}@127.0.0.1:5432/app`,
      apiKey: RAW.apiKey,
      region: 'eu-west-1',
    },
  },
});

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  delete process.env[ENV_NAME];
});

async function startApp(
  diagnostics: DiagnosticsOptions = {},
  extra: Partial<AppOptions> = {},
): Promise<App> {
  const app = createApp({
    name: 'qa diag',
    version: '9.9.9',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [
      createDiagnosticsPlugin(diagnostics),
      vault,
      { name: 'api', version: '1.0.0', dependencies: ['vault'] },
    ],
    ...extra,
  });
  apps.push(app);
  await app.start();
  return app;
}

async function report(app: App, query = ''): Promise<DiagnosticsReport> {
  const response = await fetch(`${baseUrl(app)}/api/diagnostics${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as DiagnosticsReport;
}

function burnCpu(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) Math.sqrt(Math.random());
}

describe('diagnostics plugin', () => {
  it('reports versions, every plugin ready, and process figures that move', async () => {
    const app = await startApp({ sampleInterval: 100 });
    const response = await fetch(`${baseUrl(app)}/api/diagnostics`);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-disposition')).toBeNull();
    const first = (await response.json()) as DiagnosticsReport;

    expect(first.versions).toMatchObject({
      node: process.version,
      v8: process.versions.v8,
      core: CORE_VERSION,
      app: '9.9.9',
    });
    expect(first.versions.plugins).toEqual({
      diagnostics: CORE_VERSION,
      vault: '2.3.4',
      api: '1.0.0',
    });
    expect(first.app).toMatchObject({ name: 'qa diag', phase: 'ready', url: baseUrl(app) });
    expect(first.plugins.map((plugin) => [plugin.name, plugin.state, plugin.error])).toEqual([
      ['diagnostics', 'ready', null],
      ['vault', 'ready', null],
      ['api', 'ready', null],
    ]);
    expect(first.memory.rss).toBeGreaterThan(0);
    expect(first.memory.heapUsed).toBeGreaterThan(0);
    expect(first.memory.heapSizeLimit).toBeGreaterThan(first.memory.heapTotal);
    expect(first.os).toMatchObject({
      platform: process.platform,
      arch: process.arch,
      hostname: os.hostname(),
      totalmem: os.totalmem(),
    });
    expect(first.os.cpus.count).toBe(os.cpus().length);
    expect(first.os.loadavg).toHaveLength(3);
    expect(first.os.freemem).toBeGreaterThan(0);
    // The listening server itself is an active handle.
    expect(first.activeResources.byType.TCPServerWrap).toBeGreaterThanOrEqual(1);
    expect(first.activeResources.total).toBe(
      Object.values(first.activeResources.byType).reduce((sum, count) => sum + count, 0),
    );
    expect(first.config).toBeUndefined();

    burnCpu(60);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await report(app);
    expect(second.cpu.user + second.cpu.system).toBeGreaterThan(first.cpu.user + first.cpu.system);
    expect(second.uptime.processSeconds).toBeGreaterThan(first.uptime.processSeconds);
    expect(second.uptime.appSeconds).toBeGreaterThan(first.uptime.appSeconds);
    expect(Date.parse(second.generatedAt)).toBeGreaterThan(Date.parse(first.generatedAt));
    expect(second.cpu.percent).toBeGreaterThanOrEqual(0);
    expect(second.sampling?.intervalMs).toBe(100);
  });

  it('gives event-loop delay percentiles in order, per window, and sees a blocked loop', async () => {
    const app = await startApp({ sampleInterval: 1_000, eventLoopResolution: 10 });
    let latest = await report(app);
    await waitFor(
      async () => ((latest = await report(app)).eventLoop.delay?.samples ?? 0) > 0,
      'delay samples',
    );
    const calm = latest.eventLoop.delay!;
    expect(calm.min!).toBeLessThanOrEqual(calm.p50!);
    expect(calm.p50!).toBeLessThanOrEqual(calm.p90!);
    expect(calm.p90!).toBeLessThanOrEqual(calm.p99!);
    expect(calm.p99!).toBeLessThanOrEqual(calm.max!);
    expect(calm.mean!).toBeGreaterThanOrEqual(calm.min!);
    expect(calm.mean!).toBeLessThanOrEqual(calm.max!);
    expect(latest.eventLoop.resolutionMs).toBe(10);

    // Block this process's loop (the app runs in it): the window that holds the block shows it.
    burnCpu(300);
    await waitFor(
      async () => ((latest = await report(app)).eventLoop.delay?.max ?? 0) >= 250,
      'a window with the blocked loop',
      5_000,
    );
    expect(latest.eventLoop.utilization).toBeGreaterThan(0.15);
    expect(latest.cpu.percent).toBeGreaterThan(15);
    // The next window starts afresh, so one stall does not dominate the figures forever.
    await waitFor(
      async () => ((latest = await report(app)).eventLoop.delay?.max ?? Infinity) < 250,
      'a window after the block',
      5_000,
    );
  });

  it('answers 400 problem+json for bad query values', async () => {
    const app = await startApp();
    for (const [query, names] of [
      ['?download=yes', ['download']],
      ['?download=1&download=0', ['download']],
      ['?download=toString', ['download']],
      ['?downlaod=1', ['downlaod']],
    ] as const) {
      const response = await fetch(`${baseUrl(app)}/api/diagnostics${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const body = (await response.json()) as { invalidParams: { name: string }[] };
      expect(body).toMatchObject({ status: 400, code: 'DIAGNOSTICS_INVALID_QUERY' });
      expect(body.invalidParams.map((param) => param.name)).toEqual(names);
    }
    const plain = await fetch(`${baseUrl(app)}/api/diagnostics?download=0`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-disposition')).toBeNull();
  });

  it('downloads the report as a file with the configuration and environment, secrets masked', async () => {
    process.env[ENV_NAME] = `postgres://reader:${RAW.envPassword}@127.0.0.1:5432/app`;
    const app = await startApp({}, { env: { [ENV_NAME]: z.url() } });
    const response = await fetch(`${baseUrl(app)}/api/diagnostics?download=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="?diagnostics-qa-diag-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.json"?$/,
    );
    const text = await response.text();
    for (const raw of Object.values(RAW)) expect(text).not.toContain(raw);

    const body = JSON.parse(text) as DiagnosticsReport;
    expect(body.versions.plugins.vault).toBe('2.3.4');
    expect(body.config?.effective.vault).toEqual({
      signingMaterial: MASK,
      databaseUrl: 'postgres://app:********@127.0.0.1:5432/app',
      apiKey: MASK,
      region: 'eu-west-1',
    });
    expect(body.config?.effective.app).toMatchObject({ name: 'qa diag', version: '9.9.9' });
    expect(body.config?.environment).toContainEqual(
      expect.objectContaining({
        name: ENV_NAME,
        scope: 'app',
        status: 'set',
        value: 'postgres://reader:********@127.0.0.1:5432/app',
      }),
    );
  });

  it('is a management route: the admin guard decides who reads it', async () => {
    const guard = definePlugin({
      name: 'guard',
      onInit: (context) =>
        context.app.setAdminGuard({
          name: 'deny',
          middleware: (_req, _res, next) => next(new HttpError(403, 'QA_DENIED', 'not an admin')),
        }),
    });
    const app = await startApp({}, { plugins: [createDiagnosticsPlugin(), guard] });
    const response = await fetch(`${baseUrl(app)}/api/diagnostics?download=1`);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'QA_DENIED' });
    expect(app.context.routes()).toContainEqual(
      expect.objectContaining({ path: '/api/diagnostics', access: 'admin', plugin: 'diagnostics' }),
    );
  });

  it('refuses bad options at createApp, naming each', () => {
    const attempt = () =>
      createApp({
        name: 'x',
        logger: { level: 'silent' },
        plugins: [createDiagnosticsPlugin({ sampleInterval: 5, path: 'api' })],
      });
    expect(attempt).toThrow(
      /plugins\.diagnostics\.sampleInterval[\s\S]*plugins\.diagnostics\.path|plugins\.diagnostics\.path[\s\S]*plugins\.diagnostics\.sampleInterval/,
    );
  });
});
