import {
  decisionContext,
  covers,
  directGrant,
  parsePermission,
  publicGrant,
  type CompiledGrant,
  type CompiledModel,
} from './compile.js';
import type { RoleDecision, RolesResource, RolesUser } from './types.js';

/** The decisions both models make: RBAC here, ABAC through @casl/ability (`abac.ts`). */
export interface DecisionEngine {
  can(user: RolesUser, permission: string, resource?: RolesResource): boolean;
  explain(user: RolesUser, permission: string, resource?: RolesResource): RoleDecision;
  fieldsFor(user: RolesUser, permission: string, resource?: RolesResource): string[] | undefined;
}

/**
 * One role's effective grants by shape, so a check is at most four map lookups per role:
 * `write:content` exactly, `write:*` by action, `*:content` by resource, and `*`.
 */
interface RoleIndex {
  exact: Map<string, CompiledGrant>;
  byAction: Map<string, CompiledGrant>;
  byResource: Map<string, CompiledGrant>;
  all?: CompiledGrant;
}

function indexOf(grants: readonly CompiledGrant[]): RoleIndex {
  const index: RoleIndex = { exact: new Map(), byAction: new Map(), byResource: new Map() };
  // Nearest first: the first grant of a shape is the one an explanation names.
  for (const grant of grants) {
    const { action, resource } = grant;
    if (action === '*' && resource === '*') index.all ??= grant;
    else if (resource === '*') {
      if (!index.byAction.has(action)) index.byAction.set(action, grant);
    } else if (action === '*') {
      if (!index.byResource.has(resource)) index.byResource.set(resource, grant);
    } else if (!index.exact.has(grant.pattern)) index.exact.set(grant.pattern, grant);
  }
  return index;
}

/**
 * RBAC: roles compiled once into indexes. A requested permission is read literally: `read:*`
 * asks for read on everything, which only `read:*` or `*` grants, never `read:content`.
 */
export class RbacEngine implements DecisionEngine {
  private readonly indexes = new Map<string, RoleIndex>();

  constructor(private readonly model: CompiledModel) {
    for (const role of model.roles.values()) this.indexes.set(role.name, indexOf(role.effective));
  }

  can(user: RolesUser, permission: string): boolean {
    return this.find(user, permission) !== undefined;
  }

  explain(user: RolesUser, permission: string): RoleDecision {
    const parsed = parsePermission(permission);
    const around = decisionContext(this.model, user);
    const base = {
      permission,
      rolesConsidered: around.rolesConsidered,
      unknownRoles: around.unknownRoles,
    };
    if (parsed === undefined)
      return { ...base, allowed: false, reason: 'invalid-permission', closest: [] };
    const grant = this.find(user, permission);
    const closest = around.closestTo(parsed.action, parsed.resource, grant);
    if (grant === undefined) return { ...base, allowed: false, reason: 'no-grant', closest };
    return { ...base, allowed: true, reason: 'granted', grant: publicGrant(grant), closest };
  }

  fieldsFor(user: RolesUser, permission: string): string[] | undefined {
    return this.can(user, permission) ? undefined : [];
  }

  /** The grant that allows `permission`: the user's roles in order, then assigned, then direct. */
  private find(user: RolesUser, permission: string): CompiledGrant | undefined {
    let action: string;
    let resource: string;
    if (permission === '*') action = resource = '*';
    else {
      const colon = permission.indexOf(':');
      if (colon <= 0 || colon === permission.length - 1) return undefined;
      action = permission.slice(0, colon);
      resource = permission.slice(colon + 1);
    }
    const found = this.inRoles(user.roles, permission, action, resource);
    if (found !== undefined) return found;
    const assigned = this.model.assignments.get(user.id);
    if (assigned !== undefined) {
      const byAssignment = this.inRoles(assigned, permission, action, resource);
      if (byAssignment !== undefined) return byAssignment;
    }
    const held = user.permissions;
    for (let index = 0; index < held.length; index++) {
      const pattern = held[index];
      if (pattern === permission) return directGrant(pattern);
      if (pattern.includes('*')) {
        const grant = directGrant(pattern);
        if (grant !== undefined && covers(grant, action, resource)) return grant;
      }
    }
    return undefined;
  }

  private inRoles(
    roles: readonly string[],
    permission: string,
    action: string,
    resource: string,
  ): CompiledGrant | undefined {
    for (let index = 0; index < roles.length; index++) {
      const role = this.indexes.get(roles[index]);
      if (role === undefined) continue;
      const grant =
        role.exact.get(permission) ??
        role.byAction.get(action) ??
        role.byResource.get(resource) ??
        role.all;
      if (grant !== undefined) return grant;
    }
    return undefined;
  }
}
