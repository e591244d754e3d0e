import type { Request } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition } from '../../core/plugin.js';
import type { TenantsConfig } from './options.js';
import type { MembershipStore } from './store.js';
import { TENANT_ID } from './tenant.js';

const ROLE = /^[A-Za-z0-9._-]{1,100}$/;

/** A tenant id from the path, checked like `forTenant` checks it. */
export function tenantIdOf(value: unknown): string {
  if (typeof value !== 'string' || !TENANT_ID.test(value))
    throw new HttpError(
      400,
      'TENANTS_INVALID_ID',
      `A tenant id is 1-48 characters of a-z, 0-9 and _ (got ${JSON.stringify(String(value)).slice(0, 60)}).`,
    );
  return value;
}

function userIdOf(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > 255)
    throw new HttpError(400, 'TENANTS_INVALID_USER', 'A user id is 1 to 255 characters.');
  return value;
}

function rolesOf(body: unknown, max: number): string[] {
  const invalid = (field: string, detail: string) =>
    new HttpError(400, 'TENANTS_INVALID_BODY', `${field}: ${detail}`, { details: { field } });
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('body', 'a JSON object { roles }');
  const { roles, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw invalid(unknown, 'not a field of a membership');
  if (
    !Array.isArray(roles) ||
    roles.length > max ||
    !roles.every((role) => typeof role === 'string' && ROLE.test(role))
  )
    throw invalid('roles', `a list of at most ${max} role names (letters, digits and . _ -)`);
  return [...new Set(roles as string[])];
}

/** Who did it, for the log: the admin's id, or the operator without one (a local call). */
const actorOf = (req: Request) => req.user?.id ?? 'operator';

/** The admin API of memberships: tenants, a tenant's members, a user's tenants; add and remove. */
export function tenantsRoutes(deps: {
  members: () => MembershipStore;
  config: TenantsConfig;
  logger: Logger;
}): RouteDefinition[] {
  const base = deps.config.basePath;
  return [
    {
      method: 'get',
      path: base,
      access: 'admin',
      permission: 'tenants:read',
      description: 'Tenants with their member counts; `?user=<id>`: that user’s memberships',
      handler: async (req, res) => {
        if (req.query.user === undefined) {
          res.json({ tenants: await deps.members().tenants() });
          return;
        }
        res.json({ memberships: await deps.members().tenantsOf(userIdOf(req.query.user)) });
      },
    },
    {
      method: 'get',
      path: `${base}/:tenant/members`,
      access: 'admin',
      permission: 'tenants:read',
      description: 'The members of a tenant and their roles there',
      handler: async (req, res) => {
        res.json({ members: await deps.members().members(tenantIdOf(req.params.tenant)) });
      },
    },
    {
      method: 'put',
      path: `${base}/:tenant/members/:userId`,
      access: 'admin',
      permission: 'tenants:write',
      description: 'Adds a user to a tenant with { roles }, or replaces its roles there',
      handler: async (req, res) => {
        const tenant = tenantIdOf(req.params.tenant);
        const user = userIdOf(req.params.userId);
        const membership = await deps
          .members()
          .put(tenant, user, rolesOf(req.body, deps.config.maxRolesPerMember));
        deps.logger.info(
          { tenant, user, roles: membership.roles, by: actorOf(req) },
          'tenant member set',
        );
        res.json(membership);
      },
    },
    {
      method: 'delete',
      path: `${base}/:tenant/members/:userId`,
      access: 'admin',
      permission: 'tenants:write',
      description: 'Removes a user from a tenant: refused there at once',
      handler: async (req, res) => {
        const tenant = tenantIdOf(req.params.tenant);
        const user = userIdOf(req.params.userId);
        await deps.members().remove(tenant, user);
        deps.logger.info({ tenant, user, by: actorOf(req) }, 'tenant member removed');
        res.status(204).end();
      },
    },
  ];
}
