import { permissionCovers, resourceAncestors } from '../../core/permission.js';
import {
  decisionContext,
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

/** A grant on one of these covers a nested permission: `traffic:deploy:api` has `traffic:deploy`. */
interface Ancestor {
  pattern: string;
  resource: string;
}

/** A flat permission's: shared, so a check of one allocates nothing. */
const NO_ANCESTORS: readonly Ancestor[] = [];

/** How many nested permissions the engine keeps the ancestors of; past it, it starts over. */
const ANCESTOR_CACHE_LIMIT = 1_024;

/**
 * RBAC: roles compiled once into indexes. A requested permission is read literally: `read:*`
 * asks for read on everything, which only `read:*` or `*` grants, never `read:content`.
 * Resources nest (`core/permission.ts`): `traffic:deploy` and `traffic:deploy:*` cover
 * `traffic:deploy:api`. A flat permission costs what it did; a nested one a few more lookups,
 * with its ancestors computed once and kept, so a check allocates nothing once warm.
 */
export class RbacEngine implements DecisionEngine {
  private readonly indexes = new Map<string, RoleIndex>();
  private readonly ancestors = new Map<string, readonly Ancestor[]>();

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
    const ancestors = resource.includes(':')
      ? this.ancestorsOf(permission, action, resource)
      : NO_ANCESTORS;
    const found = this.inRoles(user.roles, permission, action, resource, ancestors);
    if (found !== undefined) return found;
    const assigned = this.model.assignments.get(user.id);
    if (assigned !== undefined) {
      const byAssignment = this.inRoles(assigned, permission, action, resource, ancestors);
      if (byAssignment !== undefined) return byAssignment;
    }
    const held = user.permissions;
    for (let index = 0; index < held.length; index++)
      if (permissionCovers(held[index], permission)) return directGrant(held[index]);
    return undefined;
  }

  private ancestorsOf(permission: string, action: string, resource: string): readonly Ancestor[] {
    let ancestors = this.ancestors.get(permission);
    if (ancestors === undefined) {
      ancestors = resourceAncestors(resource).map((above) => ({
        pattern: `${action}:${above}`,
        resource: above,
      }));
      // Qualified permissions come from requests (a service's name): keep their number bounded.
      if (this.ancestors.size >= ANCESTOR_CACHE_LIMIT) this.ancestors.clear();
      this.ancestors.set(permission, ancestors);
    }
    return ancestors;
  }

  private inRoles(
    roles: readonly string[],
    permission: string,
    action: string,
    resource: string,
    ancestors: readonly Ancestor[],
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
      // Nearest first: `deploy:api:*`, `deploy:api`, `deploy:*`, `deploy`.
      for (let above = 0; above < ancestors.length; above++) {
        const { pattern, resource: upper } = ancestors[above];
        const inherited = role.exact.get(pattern) ?? role.byResource.get(upper);
        if (inherited !== undefined) return inherited;
      }
    }
    return undefined;
  }
}
