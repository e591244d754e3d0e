import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { createCachePlugin, type Cache, type CacheOptions } from './index.js';
import { MemoryLruStore } from './memory-store.js';

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

async function memoryCache(options: CacheOptions): Promise<Cache> {
  const app = createApp({
    name: 'lru-test',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [createCachePlugin({ provider: 'memory', ...options })],
  });
  apps.push(app);
  await app.start();
  return app.context.services.get('cache');
}

describe('memory cache bounds', () => {
  it('evicts the least recently used entry when maxEntries is reached', async () => {
    const cache = await memoryCache({ maxEntries: 3 });
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('c', 3);
    await cache.get('a'); // a is now the most recently used; b the least
    await cache.set('d', 4);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe(1);
    expect(await cache.get('c')).toBe(3);
    expect(await cache.get('d')).toBe(4);
    const stats = await cache.stats();
    expect(stats.entries).toBe(3);
    expect(stats.evictions).toBe(1);
  });

  it('evicts by bytes of serialized key and value, and keeps the byte count exact', async () => {
    // Each entry: key "kN" (2 bytes) + Keyv's JSON wrapper of a 100-character string (no expiry with ttl 0).
    const value = 'x'.repeat(100);
    const entryBytes = 2 + Buffer.byteLength(JSON.stringify({ value }));
    const cache = await memoryCache({ maxBytes: entryBytes * 3 + 10, maxEntries: 1_000, ttl: 0 });
    for (let index = 0; index < 5; index++) await cache.set(`k${index}`, value);
    const stats = await cache.stats();
    expect(stats.entries).toBe(3);
    expect(stats.evictions).toBe(2);
    expect(stats.memory.usedBytes).toBe(entryBytes * 3);
    expect(stats.memory.maxBytes).toBe(entryBytes * 3 + 10);
    expect(await cache.get('k0')).toBeUndefined();
    expect(await cache.get('k1')).toBeUndefined();
    expect(await cache.get('k4')).toBe(value);
    // Overwriting replaces the old size rather than adding to it.
    await cache.set('k4', 'short');
    expect((await cache.stats()).memory.usedBytes).toBe(
      entryBytes * 2 + 2 + Buffer.byteLength(JSON.stringify({ value: 'short' })),
    );
  });

  it('refuses a single value larger than maxBytes, keeping what is stored', async () => {
    const cache = await memoryCache({ maxBytes: 200 });
    await cache.set('small', 'ok');
    await expect(cache.set('huge', 'y'.repeat(500))).rejects.toMatchObject({
      status: 413,
      code: 'CACHE_VALUE_TOO_LARGE',
    });
    expect(await cache.get('small')).toBe('ok');
  });

  it('drops evicted keys from tag indexes, so a tag never removes a newer entry by accident', () => {
    const store = new MemoryLruStore({ maxEntries: 1, maxBytes: 10_000 });
    return (async () => {
      await store.set('first', '"a"');
      store.tag('first', ['t']);
      await store.set('second', '"b"'); // evicts first
      expect(await store.get('first')).toBeUndefined();
      await store.set('first', '"again"'); // evicts second; untagged now
      expect(store.invalidateTag('t')).toBe(0);
      expect(await store.get('first')).toBe('"again"');
    })();
  });

  it('sweeps expired entries out of the counts', async () => {
    const store = new MemoryLruStore({ maxEntries: 10, maxBytes: 10_000 });
    await store.set('gone', '"x"', 5);
    await store.set('kept', '"y"');
    store.sweep(Date.now() + 10);
    expect(store.size()).toBe(1);
    expect(store.usedBytes()).toBe(Buffer.byteLength('kept"y"'));
  });
});
