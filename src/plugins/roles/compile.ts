import type { GrantConfig, RolesConfig } from './options.js';
import type { RoleDecision, RoleGrant, RolesUser } from './types.js';

/** A grant, parsed once: `*` alone is `{ action: '*', resource: '*' }`. */
export interface CompiledGrant extends RoleGrant {
  action: string;
  resource: string;
}

/** A role with what it inherits resolved: its grants and its ancestors', nearest first. */
export interface CompiledRole {
  name: string;
  description?: string;
  inherits: readonly string[];
  /** Itself, then every role it inherits, breadth first (nearest first), each once. */
  closure: readonly string[];
  own: readonly CompiledGrant[];
  effective: readonly CompiledGrant[];
}

/** The whole configuration, compiled at start-up. */
export interface CompiledModel {
  roles: ReadonlyMap<string, CompiledRole>;
  /** Roles the configuration assigns by user id. */
  assignments: ReadonlyMap<string, readonly string[]>;
}

/** `action` and `resource` of a permission (split at the first colon), or undefined. */
export function parsePermission(
  permission: string,
): { action: string; resource: string } | undefined {
  if (permission === '*') return { action: '*', resource: '*' };
  const colon = permission.indexOf(':');
  if (colon <= 0 || colon === permission.length - 1) return undefined;
  return { action: permission.slice(0, colon), resource: permission.slice(colon + 1) };
}

function grantOf(
  config: GrantConfig,
  role: string | undefined,
  via: readonly string[],
): CompiledGrant {
  const entry = typeof config === 'string' ? { permission: config } : config;
  const parsed = parsePermission(entry.permission)!;
  return {
    ...(role === undefined ? { source: 'user' as const } : { role, via, source: 'role' as const }),
    pattern: entry.permission,
    ...parsed,
    ...('conditions' in entry && entry.conditions ? { conditions: entry.conditions } : {}),
    ...('fields' in entry && entry.fields ? { fields: entry.fields } : {}),
  };
}

/** A permission a user holds directly (from its token), as a grant. */
export function directGrant(permission: string): CompiledGrant | undefined {
  const parsed = parsePermission(permission);
  return parsed && { source: 'user', pattern: permission, ...parsed };
}

/** Compiles roles and inheritance; the options schema has refused unknown roles and cycles. */
export function compileModel(config: RolesConfig): CompiledModel {
  const names = new Set([...Object.keys(config.permissions), ...Object.keys(config.roles)]);
  const parentsOf = (name: string) => config.roles[name]?.inherits ?? [];
  const roles = new Map<string, CompiledRole>();
  for (const name of names) {
    // Breadth first, so the nearest role that grants a pattern is the one explanations name.
    const paths = new Map<string, string[]>([[name, [name]]]);
    const queue = [name];
    for (let index = 0; index < queue.length; index++) {
      const current = queue[index];
      for (const parent of parentsOf(current))
        if (!paths.has(parent)) {
          paths.set(parent, [...paths.get(current)!, parent]);
          queue.push(parent);
        }
    }
    const own = (config.permissions[name] ?? []).map((grant) => grantOf(grant, name, [name]));
    const effective = queue.flatMap((role) =>
      (config.permissions[role] ?? []).map((grant) => grantOf(grant, role, paths.get(role)!)),
    );
    roles.set(name, {
      name,
      description: config.roles[name]?.description,
      inherits: parentsOf(name),
      closure: queue,
      own,
      effective,
    });
  }
  return { roles, assignments: new Map(Object.entries(config.assignments)) };
}

/** The user's roles (token first, then assigned), each once. */
export function rolesOf(model: CompiledModel, user: RolesUser): readonly string[] {
  const assigned = model.assignments.get(user.id);
  if (assigned === undefined) return user.roles;
  return [...new Set([...user.roles, ...assigned])];
}

/** How many grants `closest` lists at most. */
const CLOSEST_LIMIT = 10;

/**
 * The parts of an explanation that do not depend on the engine: roles considered, unknown
 * roles, and the grants nearest the permission (same action or same resource). Explanations
 * are for refusals and operators, so this allocates freely; `can` never calls it.
 */
export function decisionContext(
  model: CompiledModel,
  user: RolesUser,
): Pick<RoleDecision, 'rolesConsidered' | 'unknownRoles'> & {
  grants: CompiledGrant[];
  closestTo(action: string, resource: string, except?: CompiledGrant): RoleGrant[];
} {
  const considered = new Set<string>();
  const unknownRoles: string[] = [];
  const grants: CompiledGrant[] = [];
  for (const name of rolesOf(model, user)) {
    const role = model.roles.get(name);
    if (role === undefined) {
      unknownRoles.push(name);
      continue;
    }
    for (const member of role.closure) considered.add(member);
    grants.push(...role.effective);
  }
  for (const held of user.permissions) {
    const grant = directGrant(held);
    if (grant) grants.push(grant);
  }
  return {
    rolesConsidered: [...considered],
    unknownRoles,
    grants,
    closestTo(action, resource, except) {
      const seen = new Set<string>();
      const out: RoleGrant[] = [];
      for (const grant of grants) {
        // By holder and pattern: a direct grant is made anew for each decision.
        const matched = except?.role === grant.role && except?.pattern === grant.pattern;
        if (matched || (grant.action === '*' && grant.resource === '*')) continue;
        const sameAction = grant.action === action || grant.action === '*';
        const sameResource = grant.resource === resource || grant.resource === '*';
        const key = `${grant.role ?? ''} ${grant.pattern}`;
        if ((sameAction || sameResource) && !seen.has(key)) {
          seen.add(key);
          out.push(publicGrant(grant));
          if (out.length === CLOSEST_LIMIT) break;
        }
      }
      return out;
    },
  };
}

/** A grant as explanations show it: without the parsed parts. */
export function publicGrant(grant: CompiledGrant): RoleGrant {
  const { action: _action, resource: _resource, ...shown } = grant;
  return shown;
}
