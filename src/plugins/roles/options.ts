import { z } from 'zod';

/** Where the roles plugin's admin routes live. */
export const DEFAULT_ROLES_BASE_PATH = '/api/roles';
/** ABAC abilities kept per user (role set and permissions), so a repeat check builds nothing. */
export const DEFAULT_ABILITY_CACHE_SIZE = 1_000;
/** MySQL and SQLite: how often each instance reads the revision of the stored roles (ms). */
export const DEFAULT_REFRESH_INTERVAL = 1_000;
/** PostgreSQL: how long a change waits for its notification to come back before it answers (ms). */
export const DEFAULT_PROPAGATION_TIMEOUT = 1_000;

const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const ACTION = /^[A-Za-z0-9._-]+$/;
const RESOURCE = /^[A-Za-z0-9._:/-]+$/;

/**
 * Whether `pattern` is a permission pattern: `action:resource`, `*` standing alone on either
 * side (`read:*`, `*:content`), or `*` for everything. Resources nest: `traffic:deploy` covers
 * `traffic:deploy:api`, and `traffic:deploy:*` what is beneath `deploy`. A partial wildcard
 * (`read:con*`) is not one: it would read as a prefix match that nothing here performs.
 */
export function isPermissionPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  const colon = pattern.indexOf(':');
  if (colon <= 0) return false;
  const action = pattern.slice(0, colon);
  const resource = pattern.slice(colon + 1);
  // `traffic:deploy:*`: everything beneath `deploy` (see core/permission.ts).
  const beneath = resource.endsWith(':*') ? resource.slice(0, -2) : resource;
  return (action === '*' || ACTION.test(action)) && (resource === '*' || RESOURCE.test(beneath));
}

const PATTERN_MESSAGE =
  'a permission "action:resource" with `*` alone on either side ("read:*", "*:content") or "*" for all';

export const roleName = z
  .string()
  .regex(NAME, 'a role name: letters, digits and . _ - (at most 100)');
const pattern = z.string().refine(isPermissionPattern, PATTERN_MESSAGE);

/**
 * An ABAC grant: a permission limited by conditions on the resource (a MongoDB-style query, as
 * @casl/ability reads it; `"${user.id}"` stands for the user's value at that path) and to fields.
 */
const conditionalGrant = z.strictObject({
  permission: pattern,
  conditions: z.record(z.string(), z.unknown()).optional(),
  fields: z.array(z.string().min(1)).min(1).optional(),
});

/** One grant as configured or stored: a pattern, or (ABAC) a pattern with conditions and fields. */
export const grantSchema = z.union([pattern, conditionalGrant]);

const role = z.strictObject({
  /** Roles whose grants this one has too, transitively. */
  inherits: z.array(roleName).default([]),
  description: z.string().max(500).optional(),
});

export const rolesOptionsSchema = z
  .strictObject({
    /** `rbac`: permission patterns. `abac`: patterns plus conditions and fields (@casl/ability). */
    model: z.enum(['rbac', 'abac']).default('rbac'),
    /** What each role grants: `{ editor: ['read:*', 'write:content'] }`. */
    permissions: z.record(roleName, z.array(grantSchema)).default({}),
    /** Inheritance: `{ editor: { inherits: ['viewer'] } }`. */
    roles: z.record(roleName, role).default({}),
    /** Roles given to users by id (`jwt|alice`), beside the roles their token carries. */
    assignments: z.record(z.string().min(1), z.array(roleName)).default({}),
    /** Prefix of the admin routes (`/api/roles`, `/api/roles/explain`). */
    basePath: z
      .string()
      .regex(/^(\/[A-Za-z0-9_-]+)+$/, 'a path such as /api/roles (no trailing slash)')
      .default(DEFAULT_ROLES_BASE_PATH),
    /**
     * `config`: roles and assignments come from these options only. `database`: these options are
     * the read-only base, and roles and assignments kept in the database plugin's database are
     * added to it, changed at run time through the admin API and the Roles page.
     */
    storage: z.enum(['config', 'database']).default('config'),
    /**
     * With `storage: 'database'` on MySQL or SQLite: how often (ms) each instance reads the
     * stored revision to pick up other instances' changes. PostgreSQL and PGlite are told at once
     * (LISTEN/NOTIFY) and read it only after a lost connection.
     */
    refreshInterval: z.number().int().min(50).max(3_600_000).default(DEFAULT_REFRESH_INTERVAL),
    /**
     * With `storage: 'database'` on PostgreSQL: how long (ms) a change waits, before it is
     * answered, for its own notification to come back (then every instance has been sent it).
     * Past it the change is answered anyway, and the others take it when the notification arrives.
     */
    propagationTimeout: z.number().int().min(0).max(60_000).default(DEFAULT_PROPAGATION_TIMEOUT),
    /** ABAC: abilities kept in memory per distinct user (oldest dropped first). */
    abilityCacheSize: z.number().int().min(1).max(1_000_000).default(DEFAULT_ABILITY_CACHE_SIZE),
  })
  .superRefine((options, ctx) => {
    const known = new Set([...Object.keys(options.permissions), ...Object.keys(options.roles)]);
    for (const [name, grants] of Object.entries(options.permissions))
      grants.forEach((grant, index) => {
        const path = ['permissions', name, index];
        if (typeof grant !== 'string' && options.model !== 'abac')
          ctx.addIssue({
            code: 'custom',
            path,
            message: "a permission string: conditions and fields need model: 'abac'",
            input: grant,
          });
        const permission = typeof grant === 'string' ? grant : grant.permission;
        if (options.model === 'abac' && /^manage:|:all$/.test(permission))
          ctx.addIssue({
            code: 'custom',
            path,
            message: `"*" for any action or resource: @casl/ability reads "manage" and "all" as wildcards (got "${permission}")`,
            input: permission,
          });
      });
    for (const [name, definition] of Object.entries(options.roles))
      definition.inherits.forEach((parent, index) => {
        if (!known.has(parent))
          ctx.addIssue({
            code: 'custom',
            path: ['roles', name, 'inherits', index],
            message: `a role defined in permissions or roles ("${parent}" is neither)`,
            input: parent,
          });
      });
    for (const [user, names] of Object.entries(options.assignments))
      names.forEach((name, index) => {
        if (!known.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['assignments', user, index],
            message: `a role defined in permissions or roles ("${name}" is neither)`,
            input: name,
          });
      });
    const cycle = inheritanceCycle(options.roles);
    if (cycle)
      ctx.addIssue({
        code: 'custom',
        path: ['roles', cycle[0], 'inherits'],
        message: `roles that do not inherit from themselves (cycle: ${cycle.join(' -> ')})`,
        input: cycle,
      });
  });

/** The first inheritance cycle, as the path that closes it (`a -> b -> a`), or undefined. */
export function inheritanceCycle(
  roles: Readonly<Record<string, { inherits: readonly string[] }>>,
): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    const seen = path.indexOf(name);
    if (seen !== -1) return [...path.slice(seen), name];
    if (done.has(name)) return undefined;
    for (const parent of roles[name]?.inherits ?? []) {
      const cycle = visit(parent, [...path, name]);
      if (cycle) return cycle;
    }
    done.add(name);
    return undefined;
  };
  for (const name of Object.keys(roles)) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

export type RolesOptions = z.input<typeof rolesOptionsSchema>;
export type RolesConfig = z.output<typeof rolesOptionsSchema>;
/** A grant as configured: a pattern, or (ABAC) a pattern with conditions and fields. */
export type GrantConfig = RolesConfig['permissions'][string][number];
