import type { EdgeIdentity } from '../../core/edge.js';

/** The user a decision is about: the auth plugin's `AuthUser` (its `id`, `roles`, `permissions`). */
export type RolesUser = Pick<EdgeIdentity, 'id' | 'roles' | 'permissions'> &
  Partial<Omit<EdgeIdentity, 'id' | 'roles' | 'permissions'>>;

/** A resource an ABAC check is about (`{ authorId: 'jwt|alice' }`); its type is the permission's. */
export type RolesResource = Readonly<Record<string, unknown>>;

/** One grant a decision found or considered. */
export interface RoleGrant {
  /** The role that holds the pattern; undefined for a permission the user holds directly. */
  role?: string;
  /** From the user's role to `role` through inheritance (`['editor', 'viewer']`). */
  via?: readonly string[];
  source: 'role' | 'user';
  pattern: string;
  /** ABAC: the conditions the resource must meet, as configured (`${user.id}` unresolved). */
  conditions?: Readonly<Record<string, unknown>>;
  /** ABAC: the only fields the grant covers. */
  fields?: readonly string[];
}

/** Why a check came out as it did; `reason` is stable for logs and tests. */
export interface RoleDecision {
  allowed: boolean;
  permission: string;
  reason: 'granted' | 'no-grant' | 'conditions-not-met' | 'invalid-permission';
  /** The grant that allowed it: the user's roles in order, nearest inherited grant first. */
  grant?: RoleGrant;
  /** The user's roles (token and assigned) and every role they inherit, in the order checked. */
  rolesConsidered: string[];
  /** Roles the user carries that no configuration defines (they grant nothing). */
  unknownRoles: string[];
  /** Grants sharing the action or the resource, for "what does this user have instead". */
  closest: RoleGrant[];
}

/** What a guard answers when a permission is missing: data, so any plugin can write it out. */
export interface PermissionRefusal {
  status: 403;
  code: 'ROLES_PERMISSION_MISSING';
  detail: string;
  /** The first permission the user lacks. */
  missing: string;
}

/**
 * The `roles` service (`ctx.get('roles')`): decisions about what a user may do. A check is a
 * few map lookups: the configuration (and what is stored) is compiled at start-up, and again
 * whole when stored roles change.
 */
export interface RolesService {
  readonly model: 'rbac' | 'abac';
  /** Whether `user` holds `permission` (`write:content`), on `resource` when given (ABAC). */
  can(user: RolesUser, permission: string, resource?: RolesResource): boolean;
  /**
   * Whether `user` holds `permission` or some part beneath it (`traffic:deploy:api` of
   * `traffic:deploy`): what an admin route's gate asks before the body names the service.
   */
  canPartly(user: RolesUser, permission: string): boolean;
  /** The same decision, with the grant that made it and the grants near it. */
  explain(user: RolesUser, permission: string, resource?: RolesResource): RoleDecision;
  /**
   * ABAC: the fields of `resource` the user may act on; undefined when every field (or RBAC,
   * when allowed), `[]` when none.
   */
  fieldsFor(user: RolesUser, permission: string, resource?: RolesResource): string[] | undefined;
  /**
   * For guards: undefined when the user holds every permission, else what to answer (403, the
   * first missing one). The full explanation goes to the debug log, never to the client.
   */
  refusal(
    user: RolesUser,
    permissions: readonly string[],
    resource?: RolesResource,
  ): PermissionRefusal | undefined;
  /** The roles as configured and compiled, for the admin page. */
  describe(): RoleSummary[];
}

export interface RoleSummary {
  name: string;
  description?: string;
  /** `config`: from the options, read-only. `database`: stored, changed through the admin API. */
  source: 'config' | 'database';
  inherits: readonly string[];
  /** Its own grants. */
  grants: readonly string[];
  /** Its own and inherited grants, nearest first. */
  effective: readonly string[];
  /** Users the configuration (and with `storage: 'database'` the database) assigns it to. */
  assigned: number;
}
