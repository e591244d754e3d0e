import type { Request } from 'express';
import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition } from '../../core/plugin.js';
import { rolesAdminRoutes, type RolesAdminDeps } from './admin-routes.js';
import type { RolesService, RolesUser } from './types.js';

const names = z
  .union([z.string(), z.array(z.string())])
  .transform((value) =>
    (typeof value === 'string' ? value.split(',') : value)
      .map((name) => name.trim())
      .filter(Boolean),
  );

/** A user as the explain route takes it: an id (its assigned roles count), or the user itself. */
const userSchema = z.union([
  z.string().min(1),
  z.looseObject({
    id: z.string().min(1),
    roles: z.array(z.string()).default([]),
    permissions: z.array(z.string()).default([]),
  }),
]);

/** The form of the explain route, also what the Roles page's "why" form posts. */
export const explainSchema = z.strictObject({
  user: userSchema,
  permission: z.string().min(1).max(200),
  /** Roles to consider beside the assigned ones (comma-separated in a query or a form). */
  roles: names.optional(),
  resource: z.record(z.string(), z.unknown()).optional(),
});

function invalid(error: z.ZodError): HttpError {
  const problems = error.issues.map(
    (issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`,
  );
  return new HttpError(400, 'ROLES_INVALID_QUERY', problems.join('; '));
}

function explainWith(roles: RolesService, input: unknown) {
  const parsed = explainSchema.safeParse(input);
  if (!parsed.success) throw invalid(parsed.error);
  const { user: given, permission, roles: extra = [], resource } = parsed.data;
  const base = typeof given === 'string' ? { id: given, roles: [], permissions: [] } : given;
  const user: RolesUser = { ...base, roles: [...new Set([...base.roles, ...extra])] };
  const decision = roles.explain(user, permission, resource);
  return {
    user: { id: user.id, roles: user.roles, permissions: user.permissions },
    decision,
    ...(roles.model === 'abac'
      ? { fields: roles.fieldsFor(user, permission, resource) ?? 'all' }
      : {}),
  };
}

const one = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * The admin routes: the roles as compiled, and "why" a user may or may not do something. The
 * explanation names roles and grants, so it is for operators only, never for the caller refused.
 * Besides admins, callers holding `roles:read` may read (and with `storage: 'database'` those
 * holding `roles:write` may change): the admin guard checks the routes' `permission`.
 */
export function rolesRoutes(
  basePath: string,
  roles: () => RolesService,
  admin?: Omit<RolesAdminDeps, 'basePath' | 'roles'>,
): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: basePath,
      access: 'admin',
      permission: 'roles:read',
      description: 'Roles, their grants and what they inherit',
      handler: (req, res) => {
        res.json({ model: roles().model, roles: roles().describe() });
      },
    },
    {
      method: 'get',
      path: `${basePath}/explain`,
      access: 'admin',
      permission: 'roles:read',
      description: 'Why a user may or may not hold a permission (`?user=<id>&permission=...`)',
      handler: (req: Request, res) => {
        const query = req.query;
        const input = {
          user: one(query.user),
          permission: one(query.permission),
          ...(one(query.roles) === undefined ? {} : { roles: one(query.roles) }),
        };
        res.json(explainWith(roles(), input));
      },
    },
    {
      method: 'post',
      path: `${basePath}/explain`,
      access: 'admin',
      permission: 'roles:read',
      description: 'Why a user (an id or a user object) may or may not hold a permission',
      handler: (req: Request, res) => {
        res.json(explainWith(roles(), req.body));
      },
    },
    ...(admin ? rolesAdminRoutes({ ...admin, basePath, roles }) : []),
  ];
}
