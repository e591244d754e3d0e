import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { MOVED_TRUST_PROXY } from '../../core/client-address.js';
import { durationSchema, type Duration } from '../../core/duration.js';

/** The longest window a timer can hold (2^31 - 1 ms, about 24.8 days). */
const MAX_WINDOW_MS = 2 ** 31 - 1;
/** What an operator (or a CI key) may do on the control plane in a minute: pages poll, deploys follow. */
export const DEFAULT_CONTROL_PLANE_LIMIT = { windowMs: 60_000, limit: 1_200 };
/** Milliseconds to wait for Redis at start-up before failing. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT = 5_000;
/** Keys in Redis start with this, then the rule name, then the client key. */
export const DEFAULT_REDIS_PREFIX = 'qwickapps:rl:';

/** Returns the key requests are counted under; `ip` is the client address under the app's `trustProxy`. */
export type RateLimitKeyGenerator = (req: IncomingMessage, ip: string) => string | Promise<string>;

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type RateLimitMethod = (typeof HTTP_METHODS)[number];

/** Milliseconds or text ('1m', '1h'); at most what a timer can hold. */
const windowMs = durationSchema({ unit: 'ms', min: 1, max: MAX_WINDOW_MS });
const limit = z.number().int().positive('a positive whole number of requests');
const method = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { error: `one of ${HTTP_METHODS.join(', ')}` }));

const rule = z.strictObject({
  /** Names the counter (and the Redis key); default the match (plus methods). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._:/*+-]{1,100}$/, 'letters, digits and . _ : / * + - (at most 100)')
    .optional(),
  match: z.string().startsWith('/', 'a path starting with "/", e.g. /api/login or /api/v1/*'),
  windowMs,
  limit,
  methods: z.array(method).min(1).optional(),
});

const redisUrl = z.url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL' });
const redisStore = z.strictObject({
  redis: redisUrl,
  /** Key prefix; every app instance sharing the limit must use the same one. */
  prefix: z.string().min(1).default(DEFAULT_REDIS_PREFIX),
  connectTimeout: z.number().int().positive().default(DEFAULT_REDIS_CONNECT_TIMEOUT),
});

// REDIS_URL arrives as a bare URL string; it means the Redis store with default settings.
const store = z.preprocess(
  (value) => (typeof value === 'string' && value !== 'memory' ? { redis: value } : value),
  z.union([z.literal('memory'), redisStore], {
    error: "'memory' or { redis: 'redis://host:6379' }",
  }),
);

export const rateLimitOptionsSchema = z
  .strictObject({
    rules: z.array(rule).default([]),
    /** Applies to requests no rule matches; without it they are not limited. */
    default: z.strictObject({ windowMs, limit }).optional(),
    /**
     * Management routes and the control panel count here instead, after the guard, per operator
     * once known (else per address); `false` counts them with everything else.
     */
    controlPlane: z
      .union([z.strictObject({ windowMs, limit }), z.literal(false)])
      .default(DEFAULT_CONTROL_PLANE_LIMIT),
    /** Moved: the app's one `trustProxy` says who the client is. */
    trustProxy: z.unknown().optional(),
    store: store.default('memory'),
    keyGenerator: z
      .custom<RateLimitKeyGenerator>((value) => typeof value === 'function', {
        error: 'a function (req, ip) => key',
      })
      .optional(),
    standardHeaders: z.enum(['draft-7', 'draft-8']).default('draft-7'),
    /** When the store fails (Redis down), let requests through (true) or answer 503 (false). */
    failOpen: z.boolean().default(true),
    /** IPv6 clients are counted per subnet of this size, since one host often owns a whole /64. */
    ipv6Subnet: z.union([z.number().int().min(32).max(64), z.literal(false)]).default(56),
  })
  .superRefine((options, ctx) => {
    if (options.trustProxy !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['trustProxy'],
        message: MOVED_TRUST_PROXY,
        input: options.trustProxy,
      });
    }
    if (options.rules.length === 0 && !options.default && !options.controlPlane) {
      ctx.addIssue({
        code: 'custom',
        path: ['rules'],
        message: 'at least one rule, or a default limit',
        input: options.rules,
      });
    }
    // The default and control-plane limits count under their own names; a rule so named would share their keys.
    const seen = new Map<string, number | 'default' | 'control-plane'>([
      ...(options.default ? [['default', 'default'] as const] : []),
      ['control-plane', 'control-plane'] as const,
    ]);
    options.rules.forEach((entry, index) => {
      const name = ruleName(entry);
      const first = seen.get(name);
      if (first !== undefined) {
        const other =
          first === 'default'
            ? 'the default limit'
            : first === 'control-plane'
              ? 'the control-plane limit'
              : `rules[${first}]`;
        ctx.addIssue({
          code: 'custom',
          path: ['rules', index, 'name'],
          message: `a unique rule name ("${name}" is also ${other}; set name)`,
          input: name,
        });
      }
      seen.set(name, index);
    });
  });

export type RateLimitConfig = z.output<typeof rateLimitOptionsSchema>;
export type RateLimitRuleConfig = RateLimitConfig['rules'][number];
export type RedisStoreConfig = z.output<typeof redisStore>;

/** The counter name of a rule: its `name`, else its match and methods. */
export function ruleName(entry: {
  name?: string;
  match: string;
  methods?: readonly string[];
}): string {
  return entry.name ?? (entry.methods ? `${entry.match}:${entry.methods.join('+')}` : entry.match);
}

export interface RateLimitRule {
  /** Names the counter and the Redis key; default `match` (plus `:METHODS`). Must be unique. */
  name?: string;
  /** `/login` (that path and below), `/api/v1/*`, `/files/*.zip`, `/a/**` (see the README). */
  match: string;
  /** Milliseconds, or a duration such as `'1m'`. */
  windowMs: Duration;
  /** Requests allowed per client in each window. */
  limit: number;
  /** Only these methods count; default all. */
  methods?: string[];
}

export interface RateLimitPluginOptions {
  /** Checked in order; the first rule that matches a request applies to it. */
  rules?: RateLimitRule[];
  /** A limit for requests no rule matches. */
  default?: { windowMs: Duration; limit: number };
  /**
   * The control plane's own limit: management routes (`access: 'admin'`) and the control panel
   * count here, per operator once the guard knows who calls (else per address), never in the
   * product's buckets. Default `DEFAULT_CONTROL_PLANE_LIMIT` (1,200 a minute); `false` counts them
   * under `rules` and `default` like any other request.
   */
  controlPlane?: { windowMs: Duration; limit: number } | false;
  /** Default `'memory'` (per process), or `REDIS_URL` when set: `{ redis: url }` shares limits between instances. */
  store?: 'memory' | string | { redis: string; prefix?: string; connectTimeout?: number };
  /**
   * Default: the signed-in user (`user:<id>`, when an authenticate hook such as the auth plugin's
   * settled one), else the client IP (IPv6 grouped by `ipv6Subnet`).
   */
  keyGenerator?: RateLimitKeyGenerator;
  /** IETF RateLimit header draft. Default `draft-7`: `RateLimit: limit=10, remaining=9, reset=60`. */
  standardHeaders?: 'draft-7' | 'draft-8';
  /** Default true: a failing store lets requests through (and logs) rather than taking the app down. */
  failOpen?: boolean;
  /** Default 56; `false` counts every IPv6 address alone. */
  ipv6Subnet?: number | false;
}
