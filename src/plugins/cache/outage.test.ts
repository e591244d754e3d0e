import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, HttpError, type App } from '../../index.js';
import { baseUrl, captureLogs, waitFor } from '../../../test/support/http.js';
import { SERVICES, serviceAvailable } from '../../../test/support/services.js';
import { TcpProxy } from '../../../test/support/tcp-proxy.js';
import { createCachePlugin, type Cache, type CacheOptions } from './index.js';

const hasRedis = await serviceAvailable('redis');

const unhandled: unknown[] = [];
const collect = (error: unknown) => void unhandled.push(error);
beforeAll(() => {
  process.on('unhandledRejection', collect);
  process.on('uncaughtException', collect);
});
afterAll(() => {
  process.off('unhandledRejection', collect);
  process.off('uncaughtException', collect);
});

const apps: App[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) {
    await app.context.services
      .tryGet('cache')
      ?.clear()
      .catch(() => undefined);
    await app.stop();
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
  expect(unhandled).toEqual([]);
});

async function startBehind(port: number, options: CacheOptions = {}) {
  const logs = captureLogs();
  const app = createApp({
    name: 'cache-outage',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'info', destination: logs.stream },
    shutdown: { signals: false },
    plugins: [
      createCachePlugin({
        url: `redis://127.0.0.1:${port}`,
        namespace: `outage-${randomUUID().slice(0, 12)}`,
        reconnect: { minDelay: 20, maxDelay: 200 },
        healthCheck: { interval: 60_000 },
        ...options,
      }),
      {
        name: 'profile',
        dependencies: ['cache'],
        routes: (ctx) => [
          {
            method: 'get',
            path: '/profile',
            handler: async (_req, res) =>
              void res.json({ cached: (await ctx.get('cache').get('profile')) ?? null }),
          },
        ],
      },
    ],
  });
  apps.push(app);
  await app.start();
  return { app, logs, cache: app.context.services.get('cache'), url: baseUrl(app) };
}

async function redisProxy(): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(0, SERVICES.redis.host, SERVICES.redis.port);
  cleanups.push(() => proxy.close());
  return proxy;
}

const lost = (cache: Cache) =>
  waitFor(() => !cache.isAvailable(), 'the cache notices the connection is gone');
const back = (cache: Cache) =>
  waitFor(() => cache.isAvailable(), 'the cache reconnects by itself', 10_000);

describe.skipIf(!hasRedis)('cache when Redis goes away', () => {
  it('fails soft while cut: misses, skipped writes, counted errors, degraded health; recovers with no restart', async () => {
    const proxy = await redisProxy();
    const { app, logs, cache, url } = await startBehind(proxy.port);
    await cache.set('profile', { name: 'Ada' });
    expect((await app.context.health.runNow('cache'))?.status).toBe('healthy');

    await proxy.cut();
    await lost(cache);
    expect(await cache.get('profile')).toBeUndefined();
    await expect(cache.set('other', 1)).resolves.toBeUndefined();
    expect(await cache.has('profile')).toBe(false);
    expect(await cache.getOrSet('computed', () => 'from the loader')).toBe('from the loader');
    expect(await (await fetch(`${url}/profile`)).json()).toEqual({ cached: null });
    const stats = (await (await fetch(`${url}/api/cache/stats`)).json()) as {
      available: boolean;
      errors: number;
      entries: number | null;
    };
    expect(stats.available).toBe(false);
    expect(stats.errors).toBeGreaterThanOrEqual(5);
    expect(stats.entries).toBeNull();

    const check = await app.context.health.runNow('cache');
    expect(check?.status).toBe('degraded');
    expect(check?.message).toMatch(/unreachable/);
    expect(app.context.health.summary().status).toBe('degraded');
    expect(app.context.isReady()).toBe(true);

    const flush = await fetch(`${url}/api/cache/flush`, { method: 'POST' });
    expect(flush.status).toBe(503);
    expect(flush.headers.get('content-type')).toContain('application/problem+json');
    expect(await flush.json()).toMatchObject({ code: 'CACHE_UNAVAILABLE' });

    await proxy.restore();
    await back(cache);
    expect(await cache.get('profile')).toEqual({ name: 'Ada' });
    expect(await (await fetch(`${url}/profile`)).json()).toEqual({ cached: { name: 'Ada' } });
    expect((await app.context.health.runNow('cache'))?.status).toBe('healthy');
    expect(app.context.health.summary().status).toBe('healthy');
    const messages = logs.lines.map((line) => line.msg);
    expect(messages).toContain('redis connection lost; reconnecting');
    expect(messages).toContain('redis connection restored');
    expect(
      messages.filter((message) => message === 'cache operation failed; served as a miss'),
    ).toHaveLength(1);
  });

  it('throws 503 CACHE_UNAVAILABLE while cut when failOpen is false, and recovers', async () => {
    const proxy = await redisProxy();
    const { cache, url } = await startBehind(proxy.port, { failOpen: false });
    await cache.set('profile', 'kept');
    await proxy.cut();
    await lost(cache);
    const error = await cache.get('profile').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 503, code: 'CACHE_UNAVAILABLE' });
    expect((error as Error).message).toContain(`redis 127.0.0.1:${proxy.port}`);
    const answer = await fetch(`${url}/profile`);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ code: 'CACHE_UNAVAILABLE' });
    expect((await cache.stats()).errors).toBe(2);

    await proxy.restore();
    await back(cache);
    expect(await cache.get('profile')).toBe('kept');
  });

  it('turns readiness off and on again when its check is critical', async () => {
    const proxy = await redisProxy();
    const { app, cache } = await startBehind(proxy.port, {
      healthCheck: { critical: true, interval: 60_000 },
    });
    expect(app.context.isReady()).toBe(true);
    await proxy.cut();
    await lost(cache);
    expect((await app.context.health.runNow('cache'))?.status).toBe('unhealthy');
    expect(app.context.isReady()).toBe(false);
    await proxy.restore();
    await back(cache);
    expect((await app.context.health.runNow('cache'))?.status).toBe('healthy');
    expect(app.context.isReady()).toBe(true);
  });

  it('resets a connection that stops answering without closing, failing waiting calls within the timeout', async () => {
    const silent = await stallingProxy(SERVICES.redis.port);
    cleanups.push(() => silent.close());
    const { cache, logs } = await startBehind(silent.port, {
      timeouts: { operation: 200, connect: 300 },
    });
    await cache.set('profile', 'kept');

    silent.stall(true);
    const began = performance.now();
    expect(await cache.get('profile')).toBeUndefined();
    // The watchdog ticks every quarter timeout: a stalled call ends within about 1.25 timeouts.
    expect(performance.now() - began).toBeLessThan(1_000);
    expect((await cache.stats()).errors).toBe(1);
    expect(logs.lines.map((line) => line.msg)).toContain(
      'cache store stopped answering; resetting the connection',
    );
    // The reconnection's handshake is swallowed too, which node-redis would wait on for ever.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cache.isAvailable()).toBe(false);

    silent.stall(false);
    await back(cache);
    expect(await cache.get('profile')).toBe('kept');
    expect(logs.lines.map((line) => line.msg)).toContain(
      'redis connection stalled before ready; reconnecting',
    );
  });
});

/** A proxy that can stop forwarding bytes while keeping every socket open (a silent network). */
async function stallingProxy(targetPort: number) {
  let stalled = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => void (stalled || to.write(chunk)));
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stall: (on: boolean) => void (stalled = on),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
