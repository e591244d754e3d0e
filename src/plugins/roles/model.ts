import { compileModel, type CompiledModel } from './compile.js';
import type { RolesConfig } from './options.js';
import type { DecisionEngine } from './rbac.js';
import type { StoredRoles } from './store.js';

/** Where a role or an assignment comes from. */
export type RoleSource = 'config' | 'database';

/** A compiled model and the engine deciding over it: replaced whole when the roles change. */
export interface LiveModel {
  compiled: CompiledModel;
  engine: DecisionEngine;
  /** Where each role comes from. */
  sources: ReadonlyMap<string, RoleSource>;
}

/**
 * The options with the stored roles and assignments added: configured roles are the read-only
 * base (a stored role never has a configured name: the API refuses it), and a user's roles are
 * those the configuration assigns, then those the database does.
 */
export function withStored(config: RolesConfig, stored: StoredRoles | undefined): RolesConfig {
  if (stored === undefined) return config;
  const permissions = { ...config.permissions };
  const roles = { ...config.roles };
  for (const role of stored.roles.values()) {
    // The configuration wins: a stored role that took a name configured since is not read.
    if (role.name in config.permissions || role.name in config.roles) continue;
    permissions[role.name] = role.grants;
    roles[role.name] = {
      inherits: role.inherits,
      ...(role.description === undefined ? {} : { description: role.description }),
    };
  }
  const assignments: Record<string, string[]> = { ...config.assignments };
  for (const [user, names] of stored.assignments)
    assignments[user] = [...new Set([...(assignments[user] ?? []), ...names])];
  return { ...config, permissions, roles, assignments };
}

/** Compiles the configuration (and what is stored) and builds an engine over it. */
export function buildModel(
  config: RolesConfig,
  stored: StoredRoles | undefined,
  engineFor: (compiled: CompiledModel) => DecisionEngine,
): LiveModel {
  const compiled = compileModel(withStored(config, stored));
  const sources = new Map<string, RoleSource>();
  for (const name of compiled.roles.keys())
    sources.set(name, name in config.permissions || name in config.roles ? 'config' : 'database');
  return { compiled, engine: engineFor(compiled), sources };
}
