import type { RequestHandler } from 'express';
import type { Store } from 'express-rate-limit';
import type { ServerPlugin } from '../../core/plugin.js';
import type { RateLimiter } from './limiter.js';
import { rateLimitOptionsSchema, type RateLimitConfig, type RateLimitPluginOptions } from './options.js';
import type { RedisLimitStores } from './redis-store.js';

export { clientIp, createClientIp, normaliseIp } from './client-ip.js';
export type { ClientIpResolver, TrustProxy } from './client-ip.js';
export { matchablePath } from './match.js';
export type { RateLimiter, RateLimitRuleInfo } from './limiter.js';
export type { RateLimitKeyGenerator, RateLimitPluginOptions, RateLimitRule } from './options.js';

declare module '../../core/services.js' {
  interface Services {
    /** Applies the rate limits to requests handled before Express (the routing plugin's proxied routes). */
    rateLimit: RateLimiter;
  }
}

/**
 * Per-route rate limits (express-rate-limit): the first matching rule applies, else `default`.
 * Counts live in memory, or in Redis to share one limit between instances. Answers 429
 * problem+json with `RateLimit`/`RateLimit-Policy` and `Retry-After` headers. The client is the
 * TCP peer unless `trustProxy` says which proxies may speak for it.
 * @example
 * createRateLimitPlugin({
 *   rules: [{ match: '/api/login', methods: ['POST'], windowMs: 60_000, limit: 5 }],
 *   default: { windowMs: 60_000, limit: 600 },
 *   trustProxy: 1,
 *   store: { redis: 'redis://localhost:6379' },
 * })
 */
export function createRateLimitPlugin(options: RateLimitPluginOptions): ServerPlugin<RateLimitConfig> {
  let middleware: RequestHandler | undefined;
  let redis: RedisLimitStores | undefined;
  const memoryStores: { shutdown(): void }[] = [];
  return {
    name: 'rate-limit',
    // Early, so limited requests are refused before other plugins' middleware does any work.
    order: 20,
    config: { schema: rateLimitOptionsSchema, options, env: { store: 'REDIS_URL' } },
    async onInit(ctx) {
      const config = ctx.config;
      const library = await import('express-rate-limit');
      const { buildRateLimiter } = await import('./limiter.js');
      if (config.store !== 'memory') {
        const { openRedisStores } = await import('./redis-store.js');
        redis = await openRedisStores(config.store, ctx.logger);
        const shared = redis;
        ctx.addHealthCheck({ name: 'rate-limit-store', critical: false, run: () => shared.ping() });
      }
      const storeFor = (rule: string): Store => {
        if (redis) return redis.storeFor(rule);
        const store = new library.MemoryStore();
        memoryStores.push(store);
        return store;
      };
      const built = buildRateLimiter(library, config, { logger: ctx.logger, storeFor });
      middleware = built.middleware;
      ctx.provide('rateLimit', built.limiter);
      ctx.logger.info(
        { rules: built.limiter.rules().map((rule) => rule.name), store: redis ? 'redis' : 'memory', trustProxy: config.trustProxy },
        'rate limits ready',
      );
    },
    middleware: () => [{ handler: middleware! }],
    async onShutdown() {
      for (const store of memoryStores.splice(0)) store.shutdown();
      await redis?.close();
      redis = undefined;
    },
  };
}
