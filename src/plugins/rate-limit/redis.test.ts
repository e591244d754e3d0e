import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { createClient } from '@redis/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, definePlugin, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { SERVICES, serviceAvailable } from '../../../test/support/services.js';
import { createRateLimitPlugin } from './index.js';

const available = await serviceAvailable('redis');
const prefix = `test:rl:${randomUUID()}:`;

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});
afterAll(async () => {
  if (!available) return;
  const client = createClient({ url: SERVICES.redis.url });
  await client.connect();
  for await (const key of client.scanIterator({ MATCH: `${prefix}*` })) await client.del(key);
  await client.quit();
});

/** A TCP relay to Redis that the test can cut, to play a Redis outage without touching the server. */
async function relay(): Promise<{ url: string; cut: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const upstream = net.connect(SERVICES.redis.port, SERVICES.redis.host);
    for (const end of [socket, upstream]) {
      sockets.add(end);
      end.on('error', () => undefined);
      end.on('close', () => sockets.delete(end));
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function instance(
  name: string,
  store: { redis: string; prefix: string } = { redis: SERVICES.redis.url, prefix },
  failOpen = true,
): Promise<App> {
  const app = createApp({
    name,
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [
      createRateLimitPlugin({
        rules: [{ match: '/api/shared', windowMs: 60_000, limit: 4 }],
        store,
        failOpen,
      }),
      definePlugin({
        name: 'hello',
        routes: [
          {
            method: 'get',
            path: '/api/shared',
            handler: (_req, res) => void res.json({ from: name }),
          },
        ],
      }),
    ],
  });
  apps.push(app);
  await app.start();
  return app;
}

describe.skipIf(!available)('rate-limit plugin with Redis', () => {
  it('shares one limit between two app instances', async () => {
    const [first, second] = await Promise.all([instance('gateway-a'), instance('gateway-b')]);
    const urls = [baseUrl(first), baseUrl(second)];
    const statuses: number[] = [];
    const remaining: (string | null)[] = [];
    for (let index = 0; index < 6; index++) {
      const res = await fetch(`${urls[index % 2]}/api/shared`);
      statuses.push(res.status);
      remaining.push(res.headers.get('ratelimit'));
      await res.arrayBuffer();
    }
    // Four requests in total, whichever instance took them; then both refuse.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(remaining.slice(0, 4).map((value) => value?.match(/remaining=(\d+)/)?.[1])).toEqual([
      '3',
      '2',
      '1',
      '0',
    ]);

    const client = createClient({ url: SERVICES.redis.url });
    await client.connect();
    const keys = await client.keys(`${prefix}*`);
    await client.quit();
    expect(keys).toHaveLength(1);
    expect(keys[0].startsWith(`${prefix}/api/shared:`)).toBe(true);
  });

  it('reports the store as an informational health check', async () => {
    const app = await instance('gateway-c');
    const check = await app.context.health.runNow('rate-limit-store');
    expect(check).toMatchObject({ plugin: 'rate-limit', critical: false, status: 'healthy' });
  });

  it('lets requests through while Redis is down (failOpen), or refuses with 503 when failOpen is false', async () => {
    const [open, closed] = await Promise.all([relay(), relay()]);
    const lenient = await instance('lenient', { redis: open.url, prefix: `${prefix}lenient:` });
    const strict = await instance(
      'strict',
      { redis: closed.url, prefix: `${prefix}strict:` },
      false,
    );
    expect((await fetch(`${baseUrl(lenient)}/api/shared`)).status).toBe(200);
    expect((await fetch(`${baseUrl(strict)}/api/shared`)).status).toBe(200);
    await Promise.all([open.cut(), closed.cut()]);

    const allowed = await fetch(`${baseUrl(lenient)}/api/shared`);
    expect(allowed.status).toBe(200);
    const refused = await fetch(`${baseUrl(strict)}/api/shared`);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMIT_UNAVAILABLE' });
  });
});
