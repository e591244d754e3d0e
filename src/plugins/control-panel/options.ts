import { z } from 'zod';
import { secret } from '../../core/masking.js';
import { DEFAULT_TRUSTED_DEVICE_TTL } from './devices.js';
import { DEFAULT_ACCOUNT_DELAY } from './login-limit.js';
import { passwordHashProblem } from './password.js';

const HEX_COLOUR = /^#[0-9a-f]{6}$/i;
const MOUNT_PATH = /^\/[a-z0-9][a-z0-9/_-]*[a-z0-9]$|^\/[a-z0-9]$/i;

/** How the panel presents itself; shown on the login form too, so never secret. */
export const brandingSchema = z.strictObject({
  title: z.string().trim().min(1).max(60).default('Control panel'),
  /** A hex colour for the accent (buttons, active navigation). */
  accentColor: z.string().regex(HEX_COLOUR, 'a colour like "#2563eb"').default('#2563eb'),
});

const redisSessions = z.strictObject({
  redis: z.url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL' }),
  /** Key prefix; every gateway sharing the sessions must use the same one. */
  prefix: z.string().min(1).default('qwickapps:cpanel:'),
  /** Milliseconds to wait for Redis at start-up before failing. Default 5 000. */
  connectTimeout: z.number().int().positive().default(5_000),
});

export const controlPanelOptionsSchema = z.strictObject({
  /** Where the panel lives; its API is under `<mountPath>/api`. Default `/cpanel`. */
  mountPath: z
    .string()
    .regex(MOUNT_PATH, 'a path like "/cpanel" (no trailing slash)')
    // The UI is served by the static plugin's code, whose mount paths have no empty segment.
    .refine((path) => !path.includes('//'), 'a path like "/cpanel" (no "//")')
    .default('/cpanel'),
  branding: brandingSchema.default({ title: 'Control panel', accentColor: '#2563eb' }),
  /** Directory of the built UI. Default `<package>/dist-ui/cpanel`. */
  uiDir: z.string().min(1).optional(),
  /** The user name of the built-in guard (env `ADMIN_USER`). */
  user: z.string().trim().min(1).max(128).default('admin'),
  /** The password of the built-in guard (env `ADMIN_PASSWORD`). */
  password: secret(z.string().min(8, 'at least 8 characters').max(1024)).optional(),
  /** Or its scrypt hash from `hashPassword()` (env `ADMIN_PASSWORD_HASH`). */
  passwordHash: secret(
    z.string().superRefine((hash, context) => {
      const problem = passwordHashProblem(hash);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  ).optional(),
  /** Key that signs session cookies (env `ADMIN_SESSION_SECRET`); random per process when unset. */
  sessionSecret: secret(z.string().min(32, 'at least 32 characters')).optional(),
  /**
   * Where sessions live: `memory` (this process), or Redis (`REDIS_URL`, or `{ redis, prefix }`),
   * where every gateway instance reads them: a login through one is valid on all, a logout or a
   * revocation through one ends the session on all. Default `memory`.
   */
  sessionStore: z
    .preprocess(
      // REDIS_URL arrives as a bare URL string; it means Redis with default settings.
      (value) => (typeof value === 'string' && value !== 'memory' ? { redis: value } : value),
      z.union([z.literal('memory'), redisSessions], {
        error: "'memory' or { redis: 'redis://host:6379' }",
      }),
    )
    .default('memory'),
  /** Milliseconds a session lasts after login. Default 8 hours. */
  sessionTtl: z
    .number()
    .int()
    .min(60_000)
    .max(30 * 86_400_000)
    .default(8 * 3_600_000),
  /** Sessions kept at most; the oldest goes first. Default 1 000. */
  maxSessions: z.number().int().min(1).max(1_000_000).default(1_000),
  loginRateLimit: z
    .strictObject({
      /** Failed logins allowed per client address within `windowMs`. Default 5. */
      max: z.number().int().min(1).max(10_000).default(5),
      /** Default one minute. */
      windowMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
    })
    .default({ max: 5, windowMs: 60_000 }),
  /**
   * Failed logins for the account from any address (which `loginRateLimit` cannot see): after
   * `freeFailures`, each attempt waits `baseDelay` ms after the last failure, doubling per failure up
   * to `maxDelay`; forgotten after `forgetAfter` ms without a failure; reset by a login. A browser that
   * logged in before skips the wait (see `trustedDeviceTtl`), so it is a delay, never a lockout.
   */
  accountLoginDelay: z
    .strictObject({
      freeFailures: z.number().int().min(0).max(1_000).default(DEFAULT_ACCOUNT_DELAY.freeFailures),
      baseDelay: z.number().int().min(1).max(3_600_000).default(DEFAULT_ACCOUNT_DELAY.baseDelay),
      maxDelay: z.number().int().min(1).max(86_400_000).default(DEFAULT_ACCOUNT_DELAY.maxDelay),
      forgetAfter: z
        .number()
        .int()
        .min(1_000)
        .max(30 * 86_400_000)
        .default(DEFAULT_ACCOUNT_DELAY.forgetAfter),
    })
    .refine((delay) => delay.maxDelay >= delay.baseDelay, {
      message: 'maxDelay of at least baseDelay',
      path: ['maxDelay'],
    })
    .default(DEFAULT_ACCOUNT_DELAY),
  /** Milliseconds a browser that logged in skips `accountLoginDelay` (a signed device cookie); 0 for never. Default 30 days. */
  trustedDeviceTtl: z
    .number()
    .int()
    .min(0)
    .max(400 * 86_400_000)
    .default(DEFAULT_TRUSTED_DEVICE_TTL),
});

export type ControlPanelConfig = z.output<typeof controlPanelOptionsSchema>;
export type ControlPanelSettings = z.input<typeof controlPanelOptionsSchema>;
export type Branding = z.output<typeof brandingSchema>;

/** Option keys the panel reads from the environment when they are not given. */
export const controlPanelEnv = {
  user: 'ADMIN_USER',
  password: 'ADMIN_PASSWORD',
  passwordHash: 'ADMIN_PASSWORD_HASH',
  sessionSecret: 'ADMIN_SESSION_SECRET',
  sessionStore: 'REDIS_URL',
} as const;
