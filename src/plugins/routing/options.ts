import { z } from 'zod';
import { durationSchema } from '../../core/duration.js';
import { MOVED_TRUST_PROXY } from '../../core/client-address.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** `/exact`, `/prefix/*` or `/*`; matched against the normalised path. */
const matchPattern = z
  .string()
  .regex(
    /^\/([^*?#%\\\s]*[^*?#%\\\s/])?(\/\*)?$|^\/\*$/,
    'a path like "/old-path", "/api/v1/*" or "/*" (no query, no encoded characters)',
  );

const httpUrl = z
  .string()
  .url()
  .refine(
    (value) => /^https?:\/\//i.test(value) && !new URL(value).search && !new URL(value).hash,
    'an http(s) URL without query or fragment',
  );

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name');
const headerEdits = z
  .object({
    /** Set (replacing any value) on the way through. */
    add: z
      .record(headerName, z.string().regex(/^[^\r\n\0]*$/, 'a header value without CR, LF or NUL'))
      .default({}),
    /** Removed on the way through, case-insensitive. */
    remove: z.array(headerName).default([]),
  })
  .strict();

/** A length of time: `'5s'`, `'500ms'`, or a bare number of milliseconds. */
const milliseconds = (fallback: number) => durationSchema({ unit: 'ms', min: 1 }).default(fallback);

const timeouts = z
  .object({
    /** Opening the TCP (and TLS) connection (`'5s'`, or milliseconds). Default 5 000 ms. */
    connect: milliseconds(5_000),
    /** From sending the request to the upstream's response headers. Default 30 000 ms; 504 after it. */
    responseHeaders: milliseconds(30_000),
    /** Longest silence between two body chunks of the response. Default 60 000 ms. */
    idle: milliseconds(60_000),
  })
  .strict()
  .default({ connect: 5_000, responseHeaders: 30_000, idle: 60_000 });

const health = z
  .object({
    /** GET on the upstream; any 2xx or 3xx answer counts as healthy. Default `/health/ready`. */
    path: z.string().regex(/^\//, 'a path starting with "/"').default('/health/ready'),
    /** A critical check makes the gateway's readiness fail while the upstream is down. Default false. */
    critical: z.boolean().default(false),
    /** Between checks: `'10s'`, or milliseconds. */
    interval: milliseconds(10_000),
    /** Before a check counts as failed: `'2s'`, or milliseconds. */
    timeout: milliseconds(2_000),
  })
  .strict();

const base = { id: z.string().min(1).optional(), match: matchPattern };

const proxyRoute = z
  .object({
    ...base,
    target: httpUrl,
    /** Remove the matched prefix before forwarding (`/api/v1/users` -> `/users`). Default false. */
    stripPrefix: z.boolean().default(false),
    /** Send the client's Host upstream instead of the target's. Default false. */
    preserveHost: z.boolean().default(false),
    /** Proxy WebSocket upgrades on this route. Default false. */
    ws: z.boolean().default(false),
    /**
     * Whether callers must be signed in (the auth plugin's authenticate hook, which the app must
     * have, or start-up fails): `required` answers 401 (or sends a browser to the login page)
     * without a session or bearer token; `optional` lets anonymous callers through and forwards
     * the identity of those who have one. Unset: the route asks nothing.
     */
    auth: z.enum(['required', 'optional']).optional(),
    /** Permissions a caller must hold (`write:content`), checked after authentication; implies `auth: 'required'`. */
    permissions: z
      .array(z.string().regex(/^[^\s,]+$/, 'a permission like "read:orders"'))
      .min(1)
      .optional(),
    timeouts,
    headers: z
      .object({ request: headerEdits.optional(), response: headerEdits.optional() })
      .strict()
      .default({}),
    /** Per-upstream health check, or false for none. */
    health: z
      .union([health, z.literal(false)])
      .default({ path: '/health/ready', critical: false, interval: 10_000, timeout: 2_000 }),
  })
  .strict();

const rewriteRoute = z
  .object({
    ...base,
    rewrite: z.string().regex(/^\/(?!\/)[^?#\\\s]*$/, 'a path like "/new-path" or "/new/*"'),
  })
  .strict();

const redirectRoute = z
  .object({
    ...base,
    /** A same-site path, or an absolute URL whose origin is listed in `allowedRedirectOrigins`. */
    redirect: z.string().min(1),
    status: z.union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)]).default(302),
  })
  .strict();

/** Served by a static plugin of its own (`static:<prefix>`), whose schema checks `options`. */
export const staticRoute = z
  .object({
    ...base,
    static: z.string().min(1),
    spa: z.boolean().default(false),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const corsSchema = z
  .object({
    /** Allowed origins (exact `scheme://host[:port]`), or `*` for any (never with credentials). */
    origin: z.union([
      z.literal('*'),
      z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin like "https://app.example.com"')),
    ]),
    credentials: z.boolean().default(false),
    methods: z.array(z.enum(METHODS)).default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
    /** Request headers a preflight may ask for. Default: content-type, authorization, x-request-id. */
    headers: z.array(headerName).default(['content-type', 'authorization', 'x-request-id']),
    /** Response headers scripts may read. */
    exposedHeaders: z.array(headerName).default(['x-request-id']),
    /** How long a browser may cache a preflight answer: `'10m'`, or a number of seconds (as the header reads it). Default 600. */
    maxAge: durationSchema({ unit: 's', max: Number.MAX_SAFE_INTEGER })
      .transform((ms) => Math.floor(ms / 1000))
      .default(600),
  })
  .strict()
  .refine((cors) => !(cors.origin === '*' && cors.credentials), {
    message: 'origin "*" cannot be combined with credentials: list the allowed origins instead',
    path: ['credentials'],
  });

export const routingOptionsSchema = z
  .object({
    routes: z.array(z.union([proxyRoute, rewriteRoute, redirectRoute, staticRoute])).default([]),
    cors: corsSchema.optional(),
    /** Moved: the app's one `trustProxy` decides which previous hops' X-Forwarded-* are kept. */
    trustedProxies: z.unknown().optional(),
    /** Origins absolute redirect targets may point to (anything else is an open redirect). */
    allowedRedirectOrigins: z
      .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin like "https://example.com"'))
      .default([]),
    /** Keep-alive connections per upstream origin. Default 128. */
    connectionsPerUpstream: z.number().int().positive().default(128),
    /** How long an idle upstream connection stays open (`'4s'`, or milliseconds). Default 4 000 ms (below Node's 5 s server default). */
    keepAliveTimeout: milliseconds(4_000),
    /** How long a replaced upstream may take to finish its in-flight requests before it is closed hard (`'30s'`, or milliseconds). Default 30 000 ms. */
    drainTimeout: milliseconds(30_000),
  })
  .strict()
  .superRefine((config, issues) => {
    if (config.trustedProxies !== undefined) {
      issues.addIssue({
        code: 'custom',
        path: ['trustedProxies'],
        message: MOVED_TRUST_PROXY,
        input: config.trustedProxies,
      });
    }
    const seen = new Set<string>();
    config.routes.forEach((route, index) => {
      const id = route.id ?? route.match;
      if (seen.has(id))
        issues.addIssue({
          code: 'custom',
          path: ['routes', index, 'id'],
          message: `a unique route id ("${id}" is used twice; set "id")`,
        });
      seen.add(id);
      if ('static' in route && config.routes.findIndex((other) => 'static' in other) !== index) {
        issues.addIssue({
          code: 'custom',
          path: ['routes', index, 'static'],
          message:
            'one static route (more sites: add createStaticPlugin({ name: "static:/docs", ... }) plugins yourself)',
        });
      }
      if ('redirect' in route && !redirectAllowed(route.redirect, config.allowedRedirectOrigins)) {
        issues.addIssue({
          code: 'custom',
          path: ['routes', index, 'redirect'],
          message:
            'a same-site path like "/new" (not "//host"), or an absolute URL whose origin is in allowedRedirectOrigins',
        });
      }
    });
  });

/** Same-site paths only; `//host` and `/\host` are protocol-relative in browsers. */
export function redirectAllowed(target: string, allowedOrigins: readonly string[]): boolean {
  if (/[\s\0]/.test(target)) return false;
  if (target.startsWith('/')) return !/^\/[/\\]/.test(target);
  try {
    const url = new URL(target);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && allowedOrigins.includes(url.origin)
    );
  } catch {
    return false;
  }
}

export type RoutingConfig = z.output<typeof routingOptionsSchema>;
export type RoutingOptions = z.input<typeof routingOptionsSchema>;
export type RouteConfig = RoutingConfig['routes'][number];
export type ProxyRouteConfig = z.output<typeof proxyRoute>;
export type CorsConfig = z.output<typeof corsSchema>;
export type HeaderEdits = z.output<typeof headerEdits>;
