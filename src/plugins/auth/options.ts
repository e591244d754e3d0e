import { z } from 'zod';
import { durationSchema } from '../../core/duration.js';
import { secret } from '../../core/masking.js';
import type { AuthProvider } from './types.js';

/** Milliseconds, written as a duration (`'30m'`) or a number of milliseconds. */
const ms = (min: number) => durationSchema({ unit: 'ms', min });

const ROUTE_PATH = /^\/[A-Za-z0-9/_-]*$/;
const routePath = (fallback: string) =>
  z.string().regex(ROUTE_PATH, 'a path like "/auth/login"').default(fallback);

/** A secret that keys HMAC or encryption: at least 32 bytes, as ASVS asks of a key. */
const keySecret = z.string().min(32, 'at least 32 characters');

const isProvider = (value: unknown): value is AuthProvider =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as AuthProvider).issuer === 'string' &&
  typeof (value as AuthProvider).toUser === 'function';

export const sessionOptionsSchema = z.strictObject({
  /**
   * `session`: sessions on the server, through the cache plugin when it is registered (Redis
   * there means every gateway instance sees the same sessions), else in memory. `jwt`: the
   * session in an encrypted cookie (JWE), with a per-user "not before" for logout and revocation.
   */
  type: z.enum(['session', 'jwt']).default('session'),
  /**
   * Keys of the `jwt` cookie, newest first: new cookies use the first, every one still opens
   * (rotation). Required for `jwt` (env `AUTH_SESSION_SECRET`, comma-separated).
   */
  secret: secret(z.union([keySecret, z.array(keySecret).min(1)])).optional(),
  /** The cookie's name; `__Host-` keeps it to this origin and path `/`. */
  cookie: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a cookie name')
    .default('__Host-qwickapps-auth'),
  /** A session not used for this long ends (`'30m'`). Default 30 minutes. */
  idleTimeout: ms(60_000).default(30 * 60_000),
  /** A session ends this long after login, used or not (`'12h'`). Default 12 hours. */
  absoluteTimeout: ms(60_000).default(12 * 3_600_000),
  /** Sessions one user keeps at most; the oldest ends first. Default 10. */
  maxPerUser: z.number().int().min(1).max(1_000).default(10),
});

export const authOptionsSchema = z
  .strictObject({
    /** `auth0Adapter(...)`, `supabaseAdapter(...)`, `jwtAdapter(...)`, `gatewayAdapter(...)`. */
    providers: z
      .array(
        z.custom<AuthProvider>(isProvider, {
          error: 'an adapter: auth0Adapter(), supabaseAdapter(), jwtAdapter() or gatewayAdapter()',
        }),
      )
      .min(1, 'at least one provider'),
    session: sessionOptionsSchema.default(() => sessionOptionsSchema.parse({})),
    routes: z
      .strictObject({
        login: routePath('/auth/login'),
        callback: routePath('/auth/callback'),
        logout: routePath('/auth/logout'),
        me: routePath('/auth/me'),
        backchannelLogout: routePath('/auth/backchannel-logout'),
      })
      .default({
        login: '/auth/login',
        callback: '/auth/callback',
        logout: '/auth/logout',
        me: '/auth/me',
        backchannelLogout: '/auth/backchannel-logout',
      }),
    /**
     * The product's public origin (`https://app.example.com`, env `PUBLIC_URL`): the OAuth
     * `redirect_uri` and the origin `returnTo` and logout's Origin check compare with. Never
     * taken from a request's Host header. Default `http://localhost:<port>` in development.
     */
    publicUrl: z
      .string()
      .url()
      .refine((value) => new URL(value).pathname === '/', 'an origin without a path')
      .optional(),
    /** Bearer tokens. */
    tokens: z
      .strictObject({
        /** Longer tokens are refused before parsing. Default 8 KiB. */
        maxBytes: z.number().int().min(1_024).max(65_536).default(8_192),
        /** Clock skew allowed on `exp`, `nbf` and `iat` (`'30s'`). Default 30 s. */
        clockTolerance: ms(0).default(30_000),
        /** Verified tokens remembered until they expire, at most this many. Default 10 000. */
        cacheSize: z.number().int().min(0).max(1_000_000).default(10_000),
        /** Least time between two key-set refetches for unknown `kid`s. Default 30 s. */
        jwksCooldown: ms(1_000).default(30_000),
        /** A key-set fetch that takes longer fails. Default 5 s. */
        jwksTimeout: ms(100).default(5_000),
      })
      .default({
        maxBytes: 8_192,
        clockTolerance: 30_000,
        cacheSize: 10_000,
        jwksCooldown: 30_000,
        jwksTimeout: 5_000,
      }),
    /**
     * The identity the gateway forwards to services: a short-lived JWT it signs, in a request
     * header it always strips from incoming requests first. `false`: forward nothing.
     */
    forward: z
      .union([
        z.literal(false),
        z.strictObject({
          /** The header. Default `x-qwickapps-identity`. */
          header: z
            .string()
            .regex(/^[a-z0-9-]+$/, 'a lower-case header name')
            .default('x-qwickapps-identity'),
          /** HMAC key services verify with (env `AUTH_FORWARD_SECRET`); random per process when unset. */
          secret: secret(keySecret).optional(),
          /** `iss` of the forwarded token. */
          issuer: z.string().min(1).default('qwickapps-gateway'),
          /** `aud` of the forwarded token. */
          audience: z.string().min(1).default('qwickapps-service'),
          /** Lifetime of a forwarded token (`'60s'`). Default 60 s. */
          ttl: ms(5_000).default(60_000),
        }),
      ])
      .default({
        header: 'x-qwickapps-identity',
        issuer: 'qwickapps-gateway',
        audience: 'qwickapps-service',
        ttl: 60_000,
      }),
    /** Login attempts (login and callback) allowed per client address, and per account. */
    loginLimit: z
      .strictObject({
        perAddress: z.number().int().min(1).max(100_000).default(30),
        perAccount: z.number().int().min(1).max(100_000).default(10),
        window: ms(1_000).default(60_000),
      })
      .default({ perAddress: 30, perAccount: 10, window: 60_000 }),
    /**
     * The control panel's guard: users holding one of these roles (or permission `admin:*`) may
     * enter. `false`: the auth plugin does not guard the panel (its password guard stays).
     */
    controlPanel: z
      .union([z.literal(false), z.strictObject({ adminRoles: z.array(z.string().min(1)).min(1) })])
      .default(false),
  })
  .superRefine((options, context) => {
    if (options.session.type === 'jwt' && options.session.secret === undefined)
      context.addIssue({
        code: 'custom',
        path: ['session', 'secret'],
        message: 'required with type "jwt" (env AUTH_SESSION_SECRET): the key of the cookie',
      });
    const names = new Set<string>();
    options.providers.forEach((provider, index) => {
      if (names.has(provider.name))
        context.addIssue({
          code: 'custom',
          path: ['providers', index, 'name'],
          message: `two providers are named "${provider.name}": give one a name of its own`,
        });
      names.add(provider.name);
      for (const problem of provider.problems)
        context.addIssue({
          code: 'custom',
          path: ['providers', index, ...problem.option.split('.')],
          message: problem.message,
        });
    });
  });

export type AuthOptions = z.input<typeof authOptionsSchema>;
export type AuthConfig = z.output<typeof authOptionsSchema>;
export type SessionConfig = AuthConfig['session'];
