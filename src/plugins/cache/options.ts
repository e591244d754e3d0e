import { z } from 'zod';
import { durationSchema, type DurationRules } from '../../core/duration.js';

export type CacheProvider = 'memory' | 'redis' | 'sqlite';

const REDIS_URL = /^rediss?:\/\//i;

/** A length of time: `'10s'`, `'500ms'`, or a bare number of milliseconds. */
const milliseconds = (fallback: number) => durationSchema({ unit: 'ms' }).default(fallback);
const positiveMs = (fallback: number) => durationSchema({ unit: 'ms', min: 1 }).default(fallback);
const positive = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Time to live: `'1h'`, `'15m'`, `'30s'`, or a bare number of seconds, as Redis's EXPIRE and
 * HTTP's max-age read a number. Not a timer, so it may exceed Node's longest timer delay.
 */
export const TTL_RULES: DurationRules = { unit: 's', max: Number.MAX_SAFE_INTEGER };
const ttlSchema = durationSchema(TTL_RULES);

const healthCheckSchema = z.object({
  /** A failing critical check makes readiness 503; by default a cache outage only degrades health. */
  critical: z.boolean().default(false),
  /** Between runs: `'10s'`, or milliseconds. */
  interval: positiveMs(10_000),
  /** Before a run counts as failed: `'2s'`, or milliseconds. */
  timeout: positiveMs(2_000),
});

/**
 * The cache plugin's options. Provider is inferred from `url` (`redis://`, `rediss://`) when not
 * given; without either it is the bounded in-process `memory` store.
 */
export const cacheOptionsSchema = z
  .object({
    provider: z.enum(['memory', 'redis', 'sqlite']).optional(),
    /** Redis URL (`redis://[:password@]host:6379[/db]`, `rediss://` for TLS). Read from `REDIS_URL`. */
    url: z.string().min(1).optional(),
    /** SQLite file for `sqlite` (`:memory:` for a throwaway database). */
    path: z.string().min(1).default('.data/cache.sqlite'),
    /** Prefix that keeps this app's keys apart from others sharing the server; `clear()` removes only these. */
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1 to 64 characters)')
      .default('cache'),
    /**
     * Default time to live: `'1h'`, `'15m'`, `'30s'`, or a number of SECONDS (`3600` is an hour,
     * as in Redis and HTTP caching); 0 keeps entries until evicted or deleted. Default `'1h'`.
     */
    ttl: ttlSchema.default(3_600_000),
    /** `memory`: most entries kept before the least recently used is evicted. */
    maxEntries: positive(10_000),
    /** `memory`: most bytes of serialized keys and values kept before eviction. */
    maxBytes: positive(64 * 1024 * 1024),
    /** When the store is unreachable: true serves misses and skips writes; false throws 503 CACHE_UNAVAILABLE. */
    failOpen: z.boolean().default(true),
    /** `false` registers no check; `true` or an object registers one (informational by default). */
    healthCheck: z
      .union([z.boolean(), healthCheckSchema])
      .default(true)
      .transform((value) =>
        value === false ? false : healthCheckSchema.parse(value === true ? {} : value),
      ),
    /** Durations (`'5s'`), or milliseconds. */
    timeouts: z
      .object({
        /** Longest wait for the first Redis connection at start-up before starting degraded. */
        connect: positiveMs(5_000),
        /** Longest wait for a single-key Redis call before the connection is reset and the call fails. */
        operation: positiveMs(1_000),
        /** Longest wait for prefix/tag invalidation, clear and statistics (SCAN over the namespace). */
        bulk: positiveMs(30_000),
      })
      .prefault({}),
    /** Reconnection backoff for Redis: doubles from `minDelay` up to `maxDelay` (durations, or milliseconds), with jitter. */
    reconnect: z.object({ minDelay: positiveMs(100), maxDelay: positiveMs(5_000) }).prefault({}),
    /** At most one log line per this long (`'10s'`, or milliseconds) for failed operations (the rest are counted). */
    errorLogInterval: milliseconds(10_000),
    /** How often expired entries are swept from `memory` and `sqlite` (`'1m'`, or milliseconds). */
    sweepInterval: positiveMs(60_000),
    /** Get latencies kept for the percentiles in the statistics. */
    latencySamples: positive(2_048),
    /** Redis: most keys counted by SCAN for the `entries` statistic. */
    statsScanLimit: positive(100_000),
  })
  .superRefine((value, ctx) => {
    // The URL only matters for Redis; `memory` and `sqlite` ignore a REDIS_URL left in the environment.
    if (
      value.url !== undefined &&
      (value.provider ?? 'redis') === 'redis' &&
      !isRedisUrl(value.url)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'a Redis URL like "redis://127.0.0.1:6379" (or rediss:// for TLS)',
      });
    }
  })
  .transform((value) => ({ ...value, provider: inferProvider(value.provider, value.url) }));

export type CacheConfig = z.output<typeof cacheOptionsSchema>;
export type CacheOptions = z.input<typeof cacheOptionsSchema>;

function isRedisUrl(url: string): boolean {
  if (!REDIS_URL.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

function inferProvider(
  provider: CacheProvider | undefined,
  url: string | undefined,
): CacheProvider {
  if (provider) return provider;
  return url !== undefined && REDIS_URL.test(url) ? 'redis' : 'memory';
}

/** `host:port` of a Redis URL, for messages (never the password). */
export function redisAddress(url: string | undefined): string {
  if (!url) return '127.0.0.1:6379';
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}
