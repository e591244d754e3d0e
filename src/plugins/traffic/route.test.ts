import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { createRoutingPlugin, type RoutingOptions } from '../routing/index.js';
import { createTrafficPlugin, type TrafficServiceOptions } from './index.js';

let directory: string;
const apps: App[] = [];

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-route-'));
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await rm(directory, { recursive: true, force: true });
});

/** Starts a gateway; resolves with the route the service follows, or rejects with start-up's error. */
async function routeOf(
  routes: RoutingOptions['routes'],
  service: TrafficServiceOptions = { name: 'api' },
): Promise<string> {
  const app = createApp({
    name: 'traffic-route-test',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [
      createRoutingPlugin({ routes }),
      createTrafficPlugin({
        services: [service],
        orchestrator: { type: 'process', command: process.execPath },
        store: { type: 'file', path: path.join(directory, 'state.json') },
      }),
    ],
  });
  apps.push(app);
  await app.start();
  return app.context.services.get('traffic').service(service.name).route;
}

const target = 'http://127.0.0.1:9';

describe("a traffic service's route", () => {
  it('is the one proxy route under /<service name> when the route has no id and the service no route option', async () => {
    expect(
      await routeOf([
        { match: '/api/v1/*', target },
        { match: '/web/*', target },
        { match: '/apis/*', target },
      ]),
    ).toBe('/api/v1/*');
    expect(
      await routeOf([
        { match: '/api/*', target },
        { match: '/old', rewrite: '/new' },
      ]),
    ).toBe('/api/*');
  });

  it('is the proxy route whose id is the service name, before any match', async () => {
    expect(
      await routeOf([
        { match: '/api/v2/*', target },
        { id: 'api', match: '/v1/*', target },
      ]),
    ).toBe('api');
  });

  it('is the route the option names, by id or match', async () => {
    expect(
      await routeOf(
        [
          { match: '/api/v1/*', target },
          { match: '/api/v2/*', target },
        ],
        { name: 'api', route: '/api/v2/*' },
      ),
    ).toBe('/api/v2/*');
  });

  it('fails start-up naming the option when two proxy routes fit', async () => {
    const failure = routeOf([
      { match: '/api/v1/*', target },
      { match: '/api/v2/*', target },
    ]);
    await expect(failure).rejects.toThrow(
      'plugins.traffic.services.0.route: expected one proxy route for service "api"',
    );
    await expect(failure).rejects.toThrow(
      'received no route option, and 2 proxy routes fit: /api/v1/*, /api/v2/*',
    );
  });

  it('fails start-up naming the option when none fits, or the option names no proxy route', async () => {
    await expect(
      routeOf([
        { match: '/apis/*', target },
        { id: 'web', match: '/*', target },
      ]),
    ).rejects.toThrow(
      'received no route option, and no proxy route fits (proxy routes: /apis/*, web (/*))',
    );
    await expect(
      routeOf(
        [
          { match: '/api/*', target },
          { match: '/old', rewrite: '/new' },
        ],
        { name: 'api', route: '/old' },
      ),
    ).rejects.toThrow(
      'plugins.traffic.services.0.route: expected the id or match of a proxy route in the routing plugin for service "api", received "/old", a rewrite route',
    );
  });
});
