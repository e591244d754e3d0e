import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { AuthUser } from '../auth/index.js';
import type { Database } from '../database/index.js';
import type { TenantsConfig } from './options.js';
import type { MembershipStore } from './store.js';

/** The database plugin's rule for `forTenant` ids, checked here first so a bad id costs no query. */
export const TENANT_ID = /^[a-z0-9_]{1,48}$/;

/**
 * The users plugin's claim with the product user id of a signed-in session (its `USER_ID_CLAIM`),
 * read by name: a membership may name either of the caller's ids. Only a session's: the users
 * plugin sets it at sign-in over whatever the provider sent, while a bearer token's claim of that
 * name is the provider's own and proves nothing about the product's users.
 */
const PRODUCT_USER_CLAIM = 'qwickapps_user_id';

/** The tenant a request acts in, once `requireTenant()` has let it through. */
export interface TenantContext {
  readonly id: string;
  /** The caller's roles in this tenant (its membership's, plus any `globalRoles` it holds). */
  readonly roles: readonly string[];
  /** The tenant's own database: the schema `tenant_<id>` (or the main one with `sharedSchema`). */
  readonly db: Database;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireTenant()`: the tenant this request acts in. */
      tenant?: TenantContext;
    }
  }
}

/** The tenant an API key is bound to, when the caller is such a key. */
export function boundTenantOf(user: AuthUser): string | undefined {
  if (user.provider !== 'api-key' || user.issuer !== 'api-key') return undefined;
  const tenant = user.claims.tenantId;
  return typeof tenant === 'string' ? tenant : undefined;
}

/** The ids a membership may name the caller by: its auth id, and a session's product user id. */
function callerIds(user: AuthUser): string[] {
  if (user.sessionId === undefined) return [user.id];
  const product = user.claims[PRODUCT_USER_CLAIM];
  return typeof product === 'string' && product !== user.id ? [user.id, product] : [user.id];
}

const refused = (code: 'TENANTS_NOT_A_MEMBER' | 'TENANTS_KEY_BOUND', detail: string) =>
  new HttpError(403, code, detail, {
    details: { reason: code === 'TENANTS_KEY_BOUND' ? 'key-bound-elsewhere' : 'not-a-member' },
  });

export interface TenantResolverDeps {
  config: TenantsConfig;
  members: MembershipStore;
  database: Database;
  logger: Logger;
}

/** What a request names as its tenant, from the one configured source only. */
function namedTenant(req: Request, user: AuthUser, from: TenantsConfig['from']): unknown {
  if ('header' in from) return req.headers[from.header];
  if ('param' in from) return (req.params as Record<string, unknown> | undefined)?.[from.param];
  return user.claims[from.claim];
}

/**
 * Settles the tenant of a request: the caller must be signed in (401), name a valid tenant
 * (400) and be a member of it, or be an API key bound to it (403 otherwise). Answers the tenant
 * and the caller as it acts there: its roles are the membership's, never another tenant's.
 */
export function tenantResolver(deps: TenantResolverDeps) {
  const { config, members, database, logger } = deps;
  const where =
    'header' in config.from
      ? `the header ${config.from.header}`
      : 'param' in config.from
        ? `the route parameter :${config.from.param}`
        : `the claim ${config.from.claim}`;
  const global = new Set(config.globalRoles);
  const shared = database.dialect !== 'postgresql';

  return async (req: Request): Promise<{ tenant: TenantContext; user: AuthUser }> => {
    const user = req.user;
    if (user === undefined)
      throw new HttpError(
        401,
        'TENANTS_UNAUTHENTICATED',
        'Sign in, or send Authorization: Bearer <token>.',
      );
    const bound = boundTenantOf(user);
    let named = namedTenant(req, user, config.from);
    // A bound key may leave the tenant out: it can only ever mean its own.
    if ((named === undefined || named === '') && bound !== undefined) named = bound;
    if (named === undefined || named === '')
      throw new HttpError(400, 'TENANTS_MISSING', `Name the tenant in ${where}.`);
    if (typeof named !== 'string' || !TENANT_ID.test(named)) {
      const shown = JSON.stringify(String(named)).slice(0, 60);
      throw new HttpError(
        400,
        'TENANTS_INVALID_ID',
        `A tenant id is 1-48 characters of a-z, 0-9 and _ (got ${shown} in ${where}).`,
      );
    }
    const id = named;
    let scoped: AuthUser;
    if (bound !== undefined) {
      if (bound !== id) {
        logger.info(
          { user: user.id, tenant: id, boundTo: bound },
          'tenant refused: key bound elsewhere',
        );
        throw refused('TENANTS_KEY_BOUND', 'This API key acts only inside its own tenant.');
      }
      const scopes = user.claims.scopes;
      scoped = {
        ...user,
        roles: [],
        permissions: Array.isArray(scopes)
          ? scopes.filter((scope): scope is string => typeof scope === 'string')
          : [],
      };
    } else {
      const found = await unavailableOn(() => members.find(id, callerIds(user)), logger);
      if (found.length === 0) {
        logger.info({ user: user.id, tenant: id }, 'tenant refused: not a member');
        throw refused('TENANTS_NOT_A_MEMBER', `You are not a member of the tenant "${id}".`);
      }
      const roles = new Set(found.flatMap((membership) => membership.roles));
      for (const role of user.roles) if (global.has(role)) roles.add(role);
      scoped = { ...user, roles: [...roles] };
    }
    const db = shared ? database : await unavailableOn(() => database.forTenant(id), logger);
    return { tenant: { id, roles: scoped.roles, db }, user: scoped };
  };
}

export type TenantResolver = ReturnType<typeof tenantResolver>;

/**
 * A database that does not answer while a membership is checked: a 503 the client retries, never
 * a 403 that would tell a member it has lost its tenant.
 */
async function unavailableOn<T>(step: () => Promise<T>, logger: Logger): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    logger.error({ err: error }, 'tenant not checked: database unavailable');
    throw new HttpError(
      503,
      'TENANTS_UNAVAILABLE',
      'Tenant membership cannot be checked right now: retry soon.',
      { cause: error },
    );
  }
}

/** Where the plugin's middleware leaves the app's resolver on each request, for `requireTenant`. */
const RESOLVER = Symbol('qwickapps.tenants');

type WithResolver = IncomingMessage & { [RESOLVER]?: TenantResolver };

/** The plugin's middleware: one property per request, so the guard needs no module state. */
export function attachResolver(resolve: () => TenantResolver): RequestHandler {
  return (req, _res, next) => {
    (req as WithResolver)[RESOLVER] = resolve();
    next();
  };
}

/**
 * Express guard for a product route that acts in a tenant: 401 without a signed-in caller, 400
 * without a valid tenant id in the configured source, 403 for a caller who is not a member (or a
 * key bound to another tenant). It sets `req.tenant = { id, roles, db }` and makes `req.user`
 * the caller as it acts in this tenant, so `requirePermission()` after it decides with the
 * membership's roles.
 * @example { method: 'get', path: '/api/items', handler: [requireTenant(), async (req, res) => res.json(await items(tenantDatabase(req)))] }
 */
export function requireTenant(): RequestHandler {
  return (req, res, next) => {
    const resolve = (req as WithResolver)[RESOLVER];
    if (resolve === undefined)
      return next(
        new Error('requireTenant() needs createTenantsPlugin() registered in the same app'),
      );
    resolve(req).then(
      ({ tenant, user }) => {
        req.tenant = tenant;
        req.user = user;
        next();
      },
      (error: unknown) => {
        if (error instanceof HttpError && error.status === 401)
          res.setHeader('www-authenticate', 'Bearer');
        if (error instanceof HttpError && error.status === 503) res.setHeader('retry-after', '5');
        next(error);
      },
    );
  };
}

/**
 * The tenant a request acts in; throws when the route has no `requireTenant()` before it (a
 * mistake in the product's code, so a 500, never a silent fall back to the main database).
 */
export function tenantOf(req: Request): TenantContext {
  if (req.tenant === undefined)
    throw new Error('No tenant on this request: put requireTenant() before the handler');
  return req.tenant;
}

/** The tenant's database for this request (`tenantOf(req).db`). */
export function tenantDatabase(req: Request): Database {
  return tenantOf(req).db;
}
