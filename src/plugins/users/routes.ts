import type { SQL } from 'drizzle-orm';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition } from '../../core/plugin.js';
import type { AuthService, AuthUser } from '../auth/index.js';
import { SORTS, type SortOrder, type UserSort } from './cursor.js';
import type { UsersConfig } from './options.js';
import type { ListQuery, UserIdentity, UserStore } from './store.js';
import { validateFields } from './validate.js';

/**
 * What the users plugin asks of a roles service (`ctx.tryGet('roles')`), declared here so the
 * plugin never imports the roles plugin: any service with this `can` fits.
 */
export interface RolesLike {
  can(user: AuthUser, permission: string, resource?: unknown): boolean;
}

/**
 * What the users plugin asks of a tenants service (`ctx.tryGet('tenants')`) to list a tenant's
 * members: the subquery of their ids (a 400 for a bad tenant id). Declared here by shape.
 */
export interface TenantsLike {
  memberIds(tenantId: string): SQL;
}

export interface UsersRouteDeps {
  store: () => UserStore;
  config: UsersConfig;
  basePath: string;
  /** The roles service when one is registered, looked up per request. */
  roles: () => RolesLike | undefined;
  /** The tenants service when one is registered: `?tenant=` lists that tenant's members. */
  tenants?: () => TenantsLike | undefined;
  /** The auth service when one is registered: a disabled or deleted user's sessions end. */
  auth: () => AuthService | undefined;
  logger: Logger;
}

type Permission = 'users:read' | 'users:write';

/**
 * The admin gate has let the caller through; with a roles service it must hold `permission`
 * too. A caller the gate admitted without a user (the management token, a direct local call)
 * is the operator and has no roles to check.
 */
function requirePermission(deps: UsersRouteDeps, req: Request, permission: Permission): void {
  const roles = deps.roles();
  const user = (req as Request & { user?: AuthUser }).user;
  if (!roles || !user) return;
  if (!roles.can(user, permission))
    throw new HttpError(403, 'USERS_FORBIDDEN', `This needs the permission ${permission}.`, {
      details: { permission },
    });
}

function listQuery(
  query: Request['query'],
  pageSize: number,
  tenants?: () => TenantsLike | undefined,
): ListQuery {
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string')
      throw new HttpError(400, 'USERS_INVALID_QUERY', `${name}: give it once, as text`);
    return value;
  };
  const limitText = text('limit');
  const limit = limitText === undefined ? pageSize : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new HttpError(400, 'USERS_INVALID_QUERY', 'limit: a whole number from 1 to 100');
  const sort = text('sort') ?? 'createdAt';
  if (!(SORTS as readonly string[]).includes(sort))
    throw new HttpError(400, 'USERS_INVALID_QUERY', `sort: one of ${SORTS.join(', ')}`);
  const order = text('order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc')
    throw new HttpError(400, 'USERS_INVALID_QUERY', 'order: asc or desc');
  const q = text('q')?.trim();
  if (q !== undefined && q.length > 255)
    throw new HttpError(400, 'USERS_INVALID_QUERY', 'q: at most 255 characters');
  const tenant = text('tenant');
  let memberOf: SQL | undefined;
  if (tenant !== undefined) {
    const service = tenants?.();
    if (service === undefined)
      throw new HttpError(
        400,
        'USERS_INVALID_QUERY',
        'tenant: lists a tenant’s members, which needs the tenants plugin registered',
      );
    memberOf = service.memberIds(tenant);
  }
  return {
    q: q || undefined,
    memberOf,
    limit,
    sort: sort as UserSort,
    order: order as SortOrder,
    cursor: text('cursor'),
  };
}

const identityBody = (body: unknown): { issuer: string; subject: string } => {
  const { issuer, subject } = (body ?? {}) as Record<string, unknown>;
  for (const [name, value] of [
    ['issuer', issuer],
    ['subject', subject],
  ] as const)
    if (typeof value !== 'string' || value === '' || value.length > 255)
      throw new HttpError(400, 'USERS_FIELD_INVALID', `${name}: 1 to 255 characters`, {
        details: { field: name },
      });
  return { issuer: issuer as string, subject: subject as string };
};

/**
 * The users API, every route `admin` (and `users:read` / `users:write` with a roles service):
 * list with search, keyset pages and sort; get; create; update; disable and enable; delete;
 * link an identity.
 */
export function usersRoutes(deps: UsersRouteDeps): RouteDefinition[] {
  const base = deps.basePath;
  const store = deps.store;
  /** Ends every session of the user's identities at once (disabled, deleted). */
  const endSessions = async (identities: UserIdentity[]) => {
    const sessions = deps.auth()?.sessions;
    let ended = 0;
    if (sessions)
      for (const identity of identities)
        if (identity.authId) ended += await sessions.revokeUser(identity.authId);
    return ended;
  };
  const route = (
    method: RouteDefinition['method'],
    path: string,
    permission: Permission,
    description: string,
    handler: (req: Request, res: Response) => Promise<void>,
  ): RouteDefinition => ({
    method,
    path: `${base}${path}`,
    access: 'admin',
    permission,
    description,
    handler: async (req, res) => {
      requirePermission(deps, req, permission);
      await handler(req, res);
    },
  });
  const id = (req: Request) => String(req.params.id);
  return [
    route(
      'get',
      '',
      'users:read',
      'Users: `q` searches email and name; `tenant` keeps its members; `limit`, `cursor`, `sort`, `order`.',
      async (req, res) => {
        res.json(await store().list(listQuery(req.query, deps.config.pageSize, deps.tenants)));
      },
    ),
    route(
      'post',
      '/search',
      'users:read',
      "The same list, its query as a JSON body (the panel's search form).",
      async (req, res) => {
        const body = (req.body ?? {}) as Record<string, unknown>;
        const query: Record<string, string> = {};
        for (const name of ['q', 'limit', 'sort', 'order', 'cursor', 'tenant'])
          if (body[name] !== undefined && body[name] !== '') query[name] = String(body[name]);
        res.json(await store().list(listQuery(query, deps.config.pageSize, deps.tenants)));
      },
    ),
    route('post', '', 'users:write', 'Creates a user from its fields.', async (req, res) => {
      const user = await store().create(validateFields(deps.config, req.body, false));
      deps.logger.info({ userId: user.id }, 'user created');
      res.status(201).json(user);
    }),
    route('get', '/:id', 'users:read', 'One user with its linked identities.', async (req, res) => {
      const user = await store().get(id(req));
      res.json({ ...user, identities: await store().identitiesOf(user.id) });
    }),
    route(
      'patch',
      '/:id',
      'users:write',
      'Changes fields of a user (`null` clears one).',
      async (req, res) => {
        res.json(await store().update(id(req), validateFields(deps.config, req.body, true)));
      },
    ),
    route(
      'post',
      '/:id/disable',
      'users:write',
      'Disables a user and ends its sessions at once.',
      async (req, res) => {
        const { user, identities } = await store().setDisabled(id(req), true);
        const sessionsEnded = await endSessions(identities);
        deps.logger.info({ userId: user.id, sessionsEnded }, 'user disabled');
        res.json({ ...user, sessionsEnded });
      },
    ),
    route(
      'post',
      '/:id/enable',
      'users:write',
      'Lets a disabled user sign in again.',
      async (req, res) => {
        const { user } = await store().setDisabled(id(req), false);
        deps.logger.info({ userId: user.id }, 'user enabled');
        res.json(user);
      },
    ),
    route(
      'post',
      '/:id/identities',
      'users:write',
      'Links another issuer and subject to the user.',
      async (req, res) => {
        const identities = await store().link(id(req), identityBody(req.body));
        res.status(201).json({ identities });
      },
    ),
    route(
      'delete',
      '/:id',
      'users:write',
      'Deletes a user, its identities and its sessions.',
      async (req, res) => {
        const identities = await store().delete(id(req));
        const sessionsEnded = await endSessions(identities);
        deps.logger.info({ userId: id(req), sessionsEnded }, 'user deleted');
        res.status(204).end();
      },
    ),
  ];
}
