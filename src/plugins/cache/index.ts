import { errorMessage } from '../../core/errors.js';
import type { HealthCheckResult } from '../../core/health-registry.js';
import type { ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { KeyvCache } from './cache.js';
import { cacheOptionsSchema, type CacheConfig, type CacheOptions } from './options.js';
import { cacheRoutes } from './routes.js';
import type { Cache } from './types.js';
import { cachePanel } from './panel.js';

export type { CacheOptions, CacheProvider } from './options.js';
export type { Cache, CacheLatency, CacheMemory, CacheSetOptions, CacheStats } from './types.js';
export { CACHE_ERRORS } from './errors.js';

declare module '../../core/services.js' {
  interface Services {
    cache: Cache;
  }
}

/**
 * A shared key-value cache on Keyv: `memory` (default, bounded LRU), `redis` or `sqlite`.
 * Provides `ctx.get('cache')`, `GET /api/cache/stats` and `POST /api/cache/flush` (admin).
 * `ttl` is a duration (`'1h'`, `'15m'`) or a number of seconds, in the options and per entry alike.
 * `REDIS_URL` switches it to Redis with no code change. When Redis is away, calls fail soft
 * (misses, skipped writes, counted errors) unless `failOpen: false`, and health degrades.
 *
 * Redis goes through @keyv/redis, i.e. node-redis, rather than ioredis: node-redis is the client
 * Redis maintains (ioredis is in maintenance), @keyv/redis is Keyv's own adapter for it, and it
 * has what a fail-soft cache needs (a disabled offline queue so calls fail at once while
 * disconnected, a reconnect strategy, SCAN iterators), so no second Redis client is installed.
 * @example
 * const app = createApp({ name: 'api', plugins: [createCachePlugin({ namespace: 'api', ttl: '10m' })] });
 * // in a plugin: const user = await ctx.get('cache').getOrSet(`user:${id}`, () => loadUser(id), { tags: [`user:${id}`] });
 */
export function createCachePlugin(options: CacheOptions = {}): ServerPlugin<CacheConfig> {
  let cache: KeyvCache | undefined;
  const current = (): Cache => {
    if (!cache) throw new Error('The cache plugin has not been initialised.');
    return cache;
  };
  return {
    name: 'cache',
    version: CORE_VERSION,
    ui: cachePanel,
    config: { schema: cacheOptionsSchema, options, env: { url: 'REDIS_URL' } },
    async onInit(ctx) {
      const { openCache } = await import('./open.js');
      const opened = await openCache(ctx.config, ctx.logger);
      cache = opened;
      ctx.provide('cache', opened);
      const check = ctx.config.healthCheck;
      if (check) {
        ctx.addHealthCheck({
          name: 'cache',
          critical: check.critical,
          interval: check.interval,
          timeout: check.timeout,
          run: () => healthOf(opened, check.critical),
        });
      }
      ctx.logger.info({ provider: opened.provider, namespace: opened.namespace }, 'cache ready');
    },
    routes: () => cacheRoutes(current),
    async onShutdown() {
      await cache?.close();
      cache = undefined;
    },
  };
}

/** A reachable store is healthy; an unreachable one degrades health, or fails it when critical. */
async function healthOf(cache: KeyvCache, critical: boolean): Promise<HealthCheckResult> {
  try {
    const latencyMs = await cache.ping();
    return {
      status: 'healthy',
      details: { provider: cache.provider, namespace: cache.namespace, latencyMs },
    };
  } catch (error) {
    const message = `cache store unreachable (${cache.provider}): ${errorMessage(error)}`;
    if (critical) throw new Error(message, { cause: error });
    return {
      status: 'degraded',
      message,
      details: { provider: cache.provider, namespace: cache.namespace },
    };
  }
}
