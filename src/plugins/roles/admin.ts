import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import { withStored, type RoleSource } from './model.js';
import { grantSchema, roleName, rolesOptionsSchema, type RolesConfig } from './options.js';
import type { RoleStore, StoredRole, StoredRoles } from './store.js';
import type { RolesSync } from './sync.js';

/** Comma-separated text (what the Roles page's form sends) or a list. */
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter(Boolean)
        : value,
    z.array(item),
  );

/** A role as the API takes it; `name` comes from the path on PUT. */
export const roleInput = z.strictObject({
  name: roleName,
  description: z.string().max(500).optional(),
  inherits: listOf(roleName).default([]),
  grants: listOf(grantSchema).default([]),
  /** POST only: replace the role of that name when it exists (else 409). */
  replace: z.boolean().default(false),
});

export const assignmentInput = z.strictObject({
  user: z.string().min(1).max(255),
  role: roleName,
});

/** One role a user holds by assignment, and where the assignment comes from. */
export interface Assignment {
  user: string;
  role: string;
  source: RoleSource;
}

/** A field and what it should be. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * The message and details of a 400 naming every bad field (`inherits.0`, `grants.1`);
 * `details.field` is the first: `new HttpError(400, CODE, ...fieldProblem(issues))`.
 */
export function fieldProblem(
  issues: readonly FieldIssue[],
): [string, { details: Record<string, unknown> }] {
  return [
    issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
    { details: { field: issues[0]?.path, fields: issues.map((issue) => issue.path) } },
  ];
}

/** An issue of the merged options, named as the request's field for the role `name`. */
function fieldOf(path: readonly PropertyKey[], name: string): string {
  const [section, owner, ...rest] = path.map(String);
  if (owner === name && section === 'permissions') return ['grants', ...rest].join('.');
  if (owner === name && section === 'roles') return rest.join('.') || 'inherits';
  return path.map(String).join('.');
}

/**
 * Changes to the stored roles and assignments. Each is one transaction of the store that checks
 * against the state it reads under the revision lock, so two instances writing at once cannot
 * build a cycle or delete a role another one just assigned. This instance takes the committed
 * state before the change is answered and, on PostgreSQL, waits for its own copy of the
 * NOTIFY; others are told (NOTIFY) or read it (poll).
 */
export class RolesAdmin {
  constructor(
    private readonly config: RolesConfig,
    private readonly store: RoleStore,
    private readonly sync: RolesSync,
  ) {}

  private configured(name: string): boolean {
    return name in this.config.permissions || name in this.config.roles;
  }

  private async change<T>(fn: Parameters<RoleStore['change']>[0]): Promise<T> {
    const { result, state } = await this.store.change(fn);
    this.sync.accept(state);
    await this.sync.delivered(state.revision, this.config.propagationTimeout);
    return result as T;
  }

  /** Creates a role, or (`replace`) replaces its definition; answers whether it was created. */
  putRole(role: StoredRole, replace: boolean): Promise<{ created: boolean }> {
    if (this.configured(role.name))
      throw new HttpError(
        409,
        'ROLES_CONFIGURED',
        `The role "${role.name}" comes from configuration, which the API does not change; choose another name.`,
      );
    return this.change(async (writes, state) => {
      const exists = state.roles.has(role.name);
      if (exists && !replace)
        throw new HttpError(409, 'ROLES_ROLE_EXISTS', `A role named "${role.name}" exists.`, {
          details: { field: 'name' },
        });
      this.validate(role, state);
      await writes.putRole(role, exists);
      return { created: !exists };
    });
  }

  /** Every problem the role would give the whole model: grants, unknown parents, a cycle. */
  private validate(role: StoredRole, state: StoredRoles): void {
    const roles = new Map(state.roles);
    roles.set(role.name, role);
    const merged = withStored(this.config, { ...state, roles });
    const parsed = rolesOptionsSchema.safeParse(merged);
    if (parsed.success) return;
    throw new HttpError(
      400,
      'ROLES_INVALID_ROLE',
      ...fieldProblem(
        parsed.error.issues.map((issue) => ({
          path: fieldOf(issue.path, role.name),
          message: issue.message,
        })),
      ),
    );
  }

  deleteRole(name: string): Promise<void> {
    if (this.configured(name))
      throw new HttpError(
        409,
        'ROLES_CONFIGURED',
        `The role "${name}" comes from configuration, which the API does not change.`,
      );
    return this.change(async (writes, state) => {
      if (!state.roles.has(name))
        throw new HttpError(404, 'ROLES_ROLE_NOT_FOUND', `No stored role is named "${name}".`);
      const heirs = [...state.roles.values()]
        .filter((role) => role.inherits.includes(name))
        .map((role) => role.name);
      const holders = [...state.assignments]
        .filter(([, names]) => names.includes(name))
        .map(([user]) => user);
      if (heirs.length > 0 || holders.length > 0)
        throw new HttpError(
          409,
          'ROLES_ROLE_IN_USE',
          `The role "${name}" is ${[
            heirs.length > 0 ? `inherited by ${heirs.join(', ')}` : '',
            holders.length > 0 ? `assigned to ${holders.length} user(s)` : '',
          ]
            .filter(Boolean)
            .join(' and ')}: change those first.`,
          { details: { inheritedBy: heirs, assignedTo: holders.slice(0, 20) } },
        );
      await writes.deleteRole(name);
    });
  }

  /** Assigns a role (a second time changes nothing); answers the user's assignments. */
  async assign(user: string, role: string): Promise<{ created: boolean }> {
    return this.change(async (writes, state) => {
      if (!this.configured(role) && !state.roles.has(role))
        throw new HttpError(
          400,
          'ROLES_INVALID_ASSIGNMENT',
          ...fieldProblem([{ path: 'role', message: `a role that exists ("${role}" does not)` }]),
        );
      if (
        this.config.assignments[user]?.includes(role) ||
        state.assignments.get(user)?.includes(role)
      )
        return { created: false };
      await writes.assign(user, role);
      return { created: true };
    });
  }

  unassign(user: string, role: string): Promise<void> {
    if (this.config.assignments[user]?.includes(role))
      throw new HttpError(
        409,
        'ROLES_CONFIGURED',
        `The configuration assigns "${role}" to "${user}"; the API does not change it.`,
      );
    return this.change(async (writes, state) => {
      if (!state.assignments.get(user)?.includes(role))
        throw new HttpError(
          404,
          'ROLES_ASSIGNMENT_NOT_FOUND',
          `The database does not assign "${role}" to "${user}".`,
        );
      await writes.unassign(user, role);
    });
  }
}

/** The assignments of the model: the configuration's first, then the database's. */
export function assignmentsOf(
  config: RolesConfig,
  stored: ReadonlyMap<string, readonly string[]>,
  user?: string,
): Assignment[] {
  const out: Assignment[] = [];
  const users =
    user === undefined ? new Set([...Object.keys(config.assignments), ...stored.keys()]) : [user];
  for (const id of users) {
    const configured = config.assignments[id] ?? [];
    for (const role of configured) out.push({ user: id, role, source: 'config' });
    for (const role of stored.get(id) ?? [])
      if (!configured.includes(role)) out.push({ user: id, role, source: 'database' });
  }
  return out;
}
