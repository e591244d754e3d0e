import type { Request, Response } from 'express';
import type { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition } from '../../core/plugin.js';
import {
  assignmentInput,
  assignmentsOf,
  fieldProblem,
  type FieldIssue,
  roleInput,
  type RolesAdmin,
} from './admin.js';
import type { RolesConfig } from './options.js';
import type { RolesSync } from './sync.js';
import type { RolesService } from './types.js';

/** The body, or the problems with it as fields. */
function parsed<T extends z.ZodType>(
  schema: T,
  input: unknown,
  refuse: (issues: FieldIssue[]) => HttpError,
): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw refuse(
    result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || 'body',
      message: issue.message,
    })),
  );
}

const param = (req: Request, name: string) => String(req.params[name]);

export interface RolesAdminDeps {
  basePath: string;
  config: RolesConfig;
  roles: () => RolesService;
  admin: () => RolesAdmin;
  sync: () => RolesSync;
}

/**
 * With `storage: 'database'`: create, replace and delete stored roles, assign and unassign
 * them. Each answers once the change is committed and this instance decides with it.
 */
export function rolesAdminRoutes(deps: RolesAdminDeps): RouteDefinition[] {
  const { basePath } = deps;
  const answerRole = (res: Response, name: string, status: number) =>
    void res.status(status).json(
      deps
        .roles()
        .describe()
        .find((role) => role.name === name),
    );
  const save = async (req: Request, res: Response, body: unknown, replace?: boolean) => {
    const input = parsed(
      roleInput,
      body,
      (issues) => new HttpError(400, 'ROLES_INVALID_ROLE', ...fieldProblem(issues)),
    );
    const { created } = await deps.admin().putRole(
      {
        name: input.name,
        ...(input.description === undefined ? {} : { description: input.description }),
        inherits: input.inherits,
        grants: input.grants,
      },
      replace ?? input.replace,
    );
    answerRole(res, input.name, created ? 201 : 200);
  };
  return [
    {
      method: 'post',
      path: basePath,
      access: 'admin',
      description:
        'Create a stored role `{ name, description?, inherits, grants, replace? }` (409 when it exists, unless replace)',
      permission: 'roles:write',
      handler: (req, res) => save(req, res, req.body),
    },
    {
      method: 'put',
      path: `${basePath}/:name`,
      access: 'admin',
      description: 'Create or replace a stored role `{ description?, inherits, grants }`',
      permission: 'roles:write',
      handler: (req, res) => {
        const body = (req.body ?? {}) as Record<string, unknown>;
        return save(req, res, { ...body, name: param(req, 'name') }, true);
      },
    },
    {
      method: 'delete',
      path: `${basePath}/:name`,
      access: 'admin',
      description: 'Delete a stored role (409 while assigned or inherited)',
      permission: 'roles:write',
      handler: async (req, res) => {
        await deps.admin().deleteRole(param(req, 'name'));
        res.status(204).end();
      },
    },
    {
      method: 'get',
      path: `${basePath}/assignments`,
      access: 'admin',
      description:
        'Assignments of roles to user ids, configured and stored (`?user=<id>`: one user)',
      permission: 'roles:read',
      handler: (req, res) => {
        const user = req.query.user;
        if (user !== undefined && (typeof user !== 'string' || user === ''))
          throw new HttpError(400, 'ROLES_INVALID_QUERY', 'user: a user id, given once');
        const assignments = assignmentsOf(deps.config, deps.sync().state.assignments, user);
        res.json(user === undefined ? { assignments } : { user, assignments });
      },
    },
    {
      method: 'post',
      path: `${basePath}/assignments`,
      access: 'admin',
      description: 'Assign a role to a user id `{ user, role }`',
      permission: 'roles:write',
      handler: async (req, res) => {
        const { user, role } = parsed(
          assignmentInput,
          req.body,
          (issues) => new HttpError(400, 'ROLES_INVALID_ASSIGNMENT', ...fieldProblem(issues)),
        );
        const { created } = await deps.admin().assign(user, role);
        res.status(created ? 201 : 200).json({
          user,
          assignments: assignmentsOf(deps.config, deps.sync().state.assignments, user),
        });
      },
    },
    {
      method: 'delete',
      path: `${basePath}/assignments/:user/:role`,
      access: 'admin',
      description: 'Unassign a stored assignment',
      permission: 'roles:write',
      handler: async (req, res) => {
        await deps.admin().unassign(param(req, 'user'), param(req, 'role'));
        res.status(204).end();
      },
    },
  ];
}
