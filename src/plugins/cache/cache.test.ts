import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, HttpError, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { SERVICES, serviceAvailable } from '../../../test/support/services.js';
import { createCachePlugin, type Cache, type CacheOptions } from './index.js';

const hasRedis = await serviceAvailable('redis');
const dataDir = mkdtempSync(join(tmpdir(), 'cache-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const apps: App[] = [];
afterEach(async () => {
  // Empty each namespace the test used, so runs leave nothing behind on the shared Redis.
  for (const app of apps.splice(0)) {
    await app.context.services
      .tryGet('cache')
      ?.clear()
      .catch(() => undefined);
    await app.stop();
  }
});

async function start(options: CacheOptions): Promise<{ app: App; cache: Cache; url: string }> {
  const app = createApp({
    name: 'cache-test',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [createCachePlugin(options)],
  });
  apps.push(app);
  await app.start();
  return { app, cache: app.context.services.get('cache'), url: baseUrl(app) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sqlitePath = join(dataDir, 'cache.sqlite');

const providers: { name: string; available: boolean; options: () => CacheOptions }[] = [
  { name: 'memory', available: true, options: () => ({ provider: 'memory' }) },
  { name: 'sqlite', available: true, options: () => ({ provider: 'sqlite', path: sqlitePath }) },
  {
    name: 'redis',
    available: hasRedis,
    options: () => ({ provider: 'redis', url: SERVICES.redis.url }),
  },
];

describe.each(providers)('cache on $name', ({ available, options }) => {
  // Each test gets its own namespace so runs (and parallel workers) never see each other's keys.
  const open = (extra: CacheOptions = {}) =>
    start({ ...options(), namespace: `t-${randomUUID().slice(0, 12)}`, ...extra });

  it.skipIf(!available)('stores, reads, checks and deletes JSON values', async () => {
    const { cache } = await open();
    const value = {
      id: 7,
      name: 'Ada',
      tags: ['a', 'b'],
      nested: { ok: true, none: null },
      ratio: 0.5,
    };
    expect(await cache.get('user:7')).toBeUndefined();
    await cache.set('user:7', value);
    expect(await cache.get('user:7')).toEqual(value);
    expect(await cache.has('user:7')).toBe(true);
    await cache.set('empty-string', '');
    expect(await cache.get('empty-string')).toBe('');
    await cache.set('zero', 0);
    expect(await cache.get('zero')).toBe(0);
    expect(await cache.delete('user:7')).toBe(true);
    expect(await cache.delete('user:7')).toBe(false);
    expect(await cache.has('user:7')).toBe(false);
    expect(await cache.get('user:7')).toBeUndefined();
  });

  it.skipIf(!available)(
    'returns copies, so mutating a read value does not change the cache',
    async () => {
      const { cache } = await open();
      await cache.set('list', [1, 2]);
      (await cache.get<number[]>('list'))!.push(3);
      expect(await cache.get('list')).toEqual([1, 2]);
    },
  );

  it.skipIf(!available)('expires entries after their ttl, per entry and by default', async () => {
    const { cache } = await open({ ttl: '150ms' });
    await cache.set('short', 'x', '60ms');
    await cache.set('default', 'y');
    await cache.set('forever', 'z', { ttl: 0 });
    // A bare number is seconds, as for the plugin's ttl: 1 is a second, not a millisecond.
    await cache.set('second', 'w', 1);
    await cache.getOrSet('loaded', () => 'v', { ttl: 1 });
    expect(await cache.get('short')).toBe('x');
    await sleep(90);
    expect(await cache.get('short')).toBeUndefined();
    expect(await cache.has('short')).toBe(false);
    expect(await cache.get('default')).toBe('y');
    await sleep(120);
    expect(await cache.get('default')).toBeUndefined();
    expect(await cache.get('forever')).toBe('z');
    expect(await cache.get('second')).toBe('w');
    expect(await cache.get('loaded')).toBe('v');
  });

  it.skipIf(!available)('calls the loader once for 50 concurrent misses of one key', async () => {
    const { cache } = await open();
    let calls = 0;
    const loader = async () => {
      calls++;
      await sleep(30);
      return { loaded: calls };
    };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => cache.getOrSet('hot', loader)),
    );
    expect(calls).toBe(1);
    expect(results.every((result) => result.loaded === 1)).toBe(true);
    expect(await cache.getOrSet('hot', loader)).toEqual({ loaded: 1 });
    expect(calls).toBe(1);
    expect((await cache.stats()).coalesced).toBe(49);
  });

  it.skipIf(!available)(
    'shares a loader failure with every waiter and caches nothing',
    async () => {
      const { cache } = await open();
      let calls = 0;
      const failing = async () => {
        calls++;
        await sleep(10);
        throw new Error('backend down');
      };
      const outcomes = await Promise.allSettled(
        Array.from({ length: 5 }, () => cache.getOrSet('broken', failing)),
      );
      expect(calls).toBe(1);
      expect(
        outcomes.every(
          (o) => o.status === 'rejected' && (o.reason as Error).message === 'backend down',
        ),
      ).toBe(true);
      expect(await cache.has('broken')).toBe(false);
      expect(await cache.getOrSet('broken', () => 'recovered')).toBe('recovered');
    },
  );

  it.skipIf(!available)('does not store a load that was invalidated while it ran', async () => {
    const { cache } = await open();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loading = cache.getOrSet('profile', async () => {
      await gate;
      return 'old';
    });
    await sleep(20);
    await cache.delete('profile');
    release();
    expect(await loading).toBe('old');
    expect(await cache.get('profile')).toBeUndefined();
  });

  it.skipIf(!available)(
    'invalidates by prefix, leaving other keys (and glob characters are literal)',
    async () => {
      const { cache } = await open();
      await Promise.all([
        cache.set('user:1', 1),
        cache.set('user:2', 2),
        cache.set('user:*weird', 3),
        cache.set('users', 4),
        cache.set('order:1', 5),
      ]);
      expect(await cache.invalidatePrefix('user:*')).toBe(1);
      expect(await cache.get('user:1')).toBe(1);
      expect(await cache.invalidatePrefix('user:')).toBe(2);
      expect(await cache.get('user:1')).toBeUndefined();
      expect(await cache.get('user:2')).toBeUndefined();
      expect(await cache.get('users')).toBe(4);
      expect(await cache.get('order:1')).toBe(5);
    },
  );

  it.skipIf(!available)('invalidates by tag, including keys with several tags', async () => {
    const { cache } = await open();
    await cache.set('post:1', 'a', { tags: ['author:9', 'feed'] });
    await cache.set('post:2', 'b', { tags: ['author:9'] });
    await cache.set('post:3', 'c', { tags: ['feed'], ttl: '1m' });
    await cache.set('other', 'd');
    expect(await cache.invalidateTag('author:9')).toBe(2);
    expect(await cache.get('post:1')).toBeUndefined();
    expect(await cache.get('post:2')).toBeUndefined();
    expect(await cache.get('post:3')).toBe('c');
    expect(await cache.invalidateTag('feed')).toBe(1);
    expect(await cache.get('post:3')).toBeUndefined();
    expect(await cache.get('other')).toBe('d');
    expect(await cache.invalidateTag('never-used')).toBe(0);
    await cache.getOrSet('loaded', () => 'x', { tags: ['batch'] });
    expect(await cache.invalidateTag('batch')).toBe(1);
  });

  it.skipIf(!available)('clears its own namespace only', async () => {
    const first = await open();
    const second = await open();
    await first.cache.set('shared-name', 'first', { tags: ['t'] });
    await second.cache.set('shared-name', 'second', { tags: ['t'] });
    expect(await first.cache.get('shared-name')).toBe('first');
    await first.cache.clear();
    expect(await first.cache.get('shared-name')).toBeUndefined();
    expect((await first.cache.stats()).entries).toBe(0);
    expect(await second.cache.get('shared-name')).toBe('second');
    expect(await second.cache.invalidateTag('t')).toBe(1);
  });

  it.skipIf(!available)(
    'refuses values that would not survive JSON, naming the key and the part',
    async () => {
      const { cache } = await open();
      const refused: [unknown, RegExp][] = [
        [() => 1, /value is a function/],
        [undefined, /value is undefined/],
        [10n, /value is a BigInt/],
        [Symbol('s'), /value is a Symbol/],
        [new Date(0), /value is a Date .*toISOString/],
        [new Map(), /value is a Map/],
        [{ when: { at: new Date(0) } }, /value\.when\.at is a Date/],
        [{ score: Number.NaN }, /value\.score is NaN/],
        [[1, Infinity], /value\[1\] is Infinity/],
        [[1, undefined], /value\[1\] is undefined/],
      ];
      for (const [value, message] of refused) {
        const error = await cache.set('bad-key', value).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HttpError);
        expect((error as HttpError).code).toBe('CACHE_VALUE_NOT_SERIALIZABLE');
        expect((error as HttpError).message).toMatch(/"bad-key"/);
        expect((error as HttpError).message).toMatch(message);
      }
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(cache.set('bad-key', circular)).rejects.toThrow(
        /value\.self is a circular reference/,
      );
      expect(await cache.has('bad-key')).toBe(false);
      await cache.set('dropped', { kept: 1, gone: undefined });
      expect(await cache.get('dropped')).toEqual({ kept: 1 });
    },
  );

  it.skipIf(!available)('refuses bad keys and ttls with a clear error', async () => {
    const { cache } = await open();
    await expect(cache.get('')).rejects.toMatchObject({ code: 'CACHE_INVALID_ARGUMENT' });
    await expect(cache.getOrSet('', () => 1)).rejects.toMatchObject({
      code: 'CACHE_INVALID_ARGUMENT',
    });
    await expect(cache.set('k', 1, -5)).rejects.toMatchObject({
      code: 'CACHE_INVALID_ARGUMENT',
      message: expect.stringMatching(/ttl/),
    });
    await expect(cache.set('k', 1, '5 minutes' as never)).rejects.toMatchObject({
      code: 'CACHE_INVALID_ARGUMENT',
      message: expect.stringMatching(/ttl must be a duration like "1h"/),
    });
    await expect(cache.set('k', 1, { tags: [''] })).rejects.toMatchObject({
      code: 'CACHE_INVALID_ARGUMENT',
      message: expect.stringMatching(/tag/),
    });
  });

  it.skipIf(!available)(
    'counts hits, misses, sets, deletes and entries, with get latency percentiles',
    async () => {
      const { cache } = await open();
      await cache.set('a', 1);
      await cache.set('b', 2);
      await cache.get('a');
      await cache.get('a');
      await cache.get('b');
      await cache.get('missing');
      await cache.delete('b');
      const stats = await cache.stats();
      expect(stats).toMatchObject({
        hits: 3,
        misses: 1,
        hitRate: 0.75,
        sets: 2,
        deletes: 1,
        errors: 0,
        entries: 1,
        available: true,
      });
      expect(stats.latency.samples).toBe(4);
      expect(stats.latency.p50).toBeGreaterThan(0);
      expect(stats.latency.p99).toBeGreaterThanOrEqual(stats.latency.p90);
      expect(stats.latency.p90).toBeGreaterThanOrEqual(stats.latency.p50);
      expect(stats.memory.usedBytes).toBeGreaterThan(0);
      expect(stats.memory.process.rss).toBeGreaterThan(0);
    },
  );

  it.skipIf(!available)(
    'serves GET /api/cache/stats and POST /api/cache/flush as admin routes',
    async () => {
      const { app, cache, url } = await open();
      await cache.set('x', 1);
      await cache.get('x');
      const stats = await fetch(`${url}/api/cache/stats`);
      expect(stats.status).toBe(200);
      const body = (await stats.json()) as { hits: number; entries: number; namespace: string };
      expect(body).toMatchObject({ hits: 1, entries: 1, namespace: cache.namespace });
      const flush = await fetch(`${url}/api/cache/flush`, { method: 'POST' });
      expect(flush.status).toBe(200);
      expect(await flush.json()).toEqual({
        flushed: true,
        provider: cache.provider,
        namespace: cache.namespace,
      });
      expect(await cache.get('x')).toBeUndefined();
      app.context.setAdminGuard({
        name: 'test',
        middleware: (req, res, next) =>
          req.headers['x-admin'] === 'yes'
            ? next()
            : void res.status(401).json({ code: 'TEST_DENIED' }),
      });
      expect((await fetch(`${url}/api/cache/stats`)).status).toBe(401);
      expect((await fetch(`${url}/api/cache/flush`, { method: 'POST' })).status).toBe(401);
      expect(
        (await fetch(`${url}/api/cache/stats`, { headers: { 'x-admin': 'yes' } })).status,
      ).toBe(200);
      const routes = app.context.routes().filter((route) => route.plugin === 'cache');
      expect(routes.map((route) => [route.method, route.path, route.access])).toEqual([
        ['get', '/api/cache/stats', 'admin'],
        ['post', '/api/cache/flush', 'admin'],
      ]);
    },
  );
});
