import type { Request } from 'express';
import type { Store } from 'express-rate-limit';
import type { PluginContext } from '../../core/context.js';
import type { ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { RateLimiter, RateLimitRuleInfo } from './limiter.js';
import {
  rateLimitOptionsSchema,
  type RateLimitConfig,
  type RateLimitPluginOptions,
} from './options.js';
import type { RedisLimitStores } from './redis-store.js';

export { clientIp, createClientIp, normaliseIp } from '../../core/client-address.js';
export type { ClientIpResolver, TrustProxy } from '../../core/client-address.js';
export { matchablePath } from './match.js';
export type { RateLimiter, RateLimitRuleInfo } from './limiter.js';
export type { RateLimitKeyGenerator, RateLimitPluginOptions, RateLimitRule } from './options.js';
export { RATE_LIMIT_ERRORS } from './errors.js';

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
 * TCP peer unless the app's `trustProxy` says which proxies may speak for it. Management routes
 * and the control panel count apart, per operator (`controlPlane`).
 * @example
 * createRateLimitPlugin({
 *   rules: [{ match: '/api/login', methods: ['POST'], windowMs: 60_000, limit: 5 }],
 *   default: { windowMs: 60_000, limit: 600 },
 *   store: { redis: 'redis://localhost:6379' },
 * })
 */
export function createRateLimitPlugin(
  options: RateLimitPluginOptions,
): ServerPlugin<RateLimitConfig> {
  let redis: RedisLimitStores | undefined;
  const memoryStores: { shutdown(): void }[] = [];
  return {
    name: 'rate-limit',
    version: CORE_VERSION,
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
      const { WindowCounter } = await import('./window-counter.js');
      const storeFor = (rule: string, windowMs: number): Store => {
        if (redis) return redis.storeFor(rule);
        const counter = new WindowCounter(windowMs);
        memoryStores.push(counter);
        return counter;
      };
      const app = ctx.app;
      const built = buildRateLimiter(library, config, {
        logger: ctx.logger,
        storeFor,
        clientAddress: (req) => app.clients.of(req),
        isControlPlane: (req) => app.isControlPlane(req),
        identify: (req) => app.adminGuard()?.identify?.(req as Request),
      });
      app.edge.add(built.hook);
      if (built.controlPlane) app.addControlPlaneHook(built.controlPlane);
      ctx.provide('rateLimit', built.limiter);
      announceLimits(ctx, built.limiter.rules(), redis ? 'redis' : 'memory');
    },
    async onShutdown() {
      for (const store of memoryStores.splice(0)) store.shutdown();
      await redis?.close();
      redis = undefined;
    },
  };
}

function describeRule(rule: RateLimitRuleInfo): string {
  const window =
    rule.windowMs % 60_000 === 0 ? `${rule.windowMs / 60_000} min` : `${rule.windowMs / 1000} s`;
  const who =
    rule.name === 'control-plane'
      ? 'per operator (per address before login)'
      : 'per client address';
  return `${rule.name === 'default' || rule.name === 'control-plane' ? rule.name : `${rule.match}`}: ${rule.limit} requests per ${window} ${who}`;
}

/**
 * Says at start-up, and on the Config page, which limits are in force and, without
 * `trustProxy`, that every client behind a proxy shares one address, so one bucket.
 */
function announceLimits(
  ctx: PluginContext<RateLimitConfig>,
  rules: RateLimitRuleInfo[],
  store: 'memory' | 'redis',
): void {
  const summary = `Rate limits in force (${store} store): ${rules.map(describeRule).join('; ')}.`;
  const { trustProxy } = ctx.app.clients;
  ctx.logger.info({ rules: rules.map((rule) => rule.name), store, trustProxy }, summary);
  ctx.app.config.addNotice({ scope: ctx.name, level: 'info', message: summary });
  if (trustProxy !== false && trustProxy !== 0) return;
  const warning =
    'trustProxy is not set: clients are told apart by the address of the TCP peer, so behind a proxy or load balancer ' +
    'every client shares one address and one rate-limit bucket. Set createApp({ trustProxy }) to the number of proxies ' +
    'in front of the app or to their addresses (or TRUST_PROXY=1, TRUST_PROXY=10.0.0.0/8) to count each client on its own.';
  ctx.logger.warn({ trustProxy: false }, warning);
  ctx.app.config.addNotice({ scope: ctx.name, level: 'warn', message: warning });
}
