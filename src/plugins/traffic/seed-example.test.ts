import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createApp, type App } from '../../index.js';
import { createRoutingPlugin, createTrafficPlugin } from '../index.js';
import { releaseImages } from './orchestrators/test-support/caprover-images.js';
import { CaproverStandIn } from './orchestrators/test-support/caprover-stand-in.js';

/**
 * The vision document's traffic example, as written there, against the public exports. CapRover
 * cannot run here: its stand-in answers the documented `/api/v2` calls. The example names no
 * store, so the gateway runs in a folder of its own (its `.data/traffic-state.json`).
 */

// The seed's routing example gives the gateway its /api/v1/* proxy route.
const seedRouting = () =>
  createRoutingPlugin({
    routes: [
      // Proxy API requests to backend service
      { match: '/api/v1/*', target: 'http://localhost:3100' },

      // URL rewriting
      { match: '/old-path', rewrite: '/new-path' },

      // Static files with SPA fallback
      { match: '/*', static: './dist-ui', spa: true },
    ],
    cors: {
      origin: ['https://qwickforge.com'],
      credentials: true,
    },
  });

// Verbatim from the seed (section 5, Traffic Plugin).
const seedTraffic = () =>
  createTrafficPlugin({
    mode: 'gateway', // This instance is the gateway
    services: [
      {
        name: 'api',
        slots: ['slot-a', 'slot-b'],
        healthEndpoint: '/health',
        promotionDelay: 30000, // 30s health check before promotion
      },
    ],
    rollback: {
      window: 15 * 60 * 1000, // 15 minutes
      automatic: false, // Manual rollback trigger
    },
    orchestrator: {
      type: 'caprover', // or 'docker', 'kubernetes'
      url: process.env.CAPROVER_URL,
      token: process.env.CAPROVER_TOKEN,
    },
  });

const gateway = () =>
  createApp({
    name: 'seed-gateway',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [seedRouting(), seedTraffic()],
  });

let folder: string;
let previousCwd: string;
const saved = { url: process.env.CAPROVER_URL, token: process.env.CAPROVER_TOKEN };
const apps: App[] = [];

beforeAll(async () => {
  previousCwd = process.cwd();
  folder = await mkdtemp(path.join(tmpdir(), 'seed-example-'));
  await mkdir(path.join(folder, 'dist-ui'));
  await writeFile(path.join(folder, 'dist-ui', 'index.html'), '<!doctype html><title>seed</title>');
  process.chdir(folder);
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  for (const [name, value] of [
    ['CAPROVER_URL', saved.url],
    ['CAPROVER_TOKEN', saved.token],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});
afterAll(async () => {
  process.chdir(previousCwd);
  await rm(folder, { recursive: true, force: true });
});

describe("the seed's traffic example", () => {
  it('starts a gateway on CapRover with a token, routes /api/v1/* to no one until a release is active, and deploys api:<version>', async () => {
    const captain = await new CaproverStandIn({
      password: 'unused-password',
      images: releaseImages,
    }).start();
    try {
      process.env.CAPROVER_URL = captain.url;
      process.env.CAPROVER_TOKEN = captain.issueToken();
      const app = gateway();
      apps.push(app);
      await app.start();
      const base = app.context.url()!.replace('localhost', '127.0.0.1');
      const traffic = app.context.services.get('traffic');
      expect(traffic.service('api')).toMatchObject({
        name: 'api',
        route: '/api/v1/*',
        active: undefined,
      });
      expect(traffic.service('api').slots.map((slot) => slot.id)).toEqual(['slot-a', 'slot-b']);

      // The route's own target (localhost:3100) never gets a request the traffic plugin did not route.
      const before = await fetch(`${base}/api/v1/hello`);
      expect(before.status).toBe(503);
      expect(await before.json()).toMatchObject({ code: 'TRAFFIC_NO_ACTIVE_RELEASE' });

      await traffic.deploy('api', 'v1', 'ops');
      await expect
        .poll(() => captain.apps.get('api-slot-a')?.deployedImages, { timeout: 5_000 })
        .toEqual(['api:v1']);
      // The token was used as it is: no login.
      expect(captain.logins).toBe(0);
      expect(captain.requests.some((request) => request.path === '/api/v2/login')).toBe(false);
      // The slot's address is CapRover's overlay network, unreachable from here: it stays starting, unrouted.
      await expect.poll(() => traffic.service('api').slots[0].target).toBeDefined();
      expect(traffic.service('api').slots[0]).toMatchObject({
        state: 'starting',
        version: 'v1',
        target: 'http://srv-captain--api-slot-a:3000',
      });
      const during = await fetch(`${base}/api/v1/hello`);
      expect(during.status).toBe(503);
      expect(((await during.json()) as { detail: string }).detail).toContain(
        'slot-a (v1) is starting',
      );
    } finally {
      await captain.close();
    }
  });

  it('fails createApp naming orchestrator.url and orchestrator.token when CAPROVER_URL and CAPROVER_TOKEN are not set', () => {
    delete process.env.CAPROVER_URL;
    delete process.env.CAPROVER_TOKEN;
    let error: unknown;
    try {
      gateway();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.name)).toEqual([
      'plugins.traffic.orchestrator.url',
      'plugins.traffic.orchestrator.token',
    ]);
    expect((error as ConfigError).message).toContain('is CAPROVER_URL set?');
  });
});
