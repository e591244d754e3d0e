import { createMongoAbility, subject, type MongoAbility, type RawRuleOf } from '@casl/ability';
import { permittedFieldsOf } from '@casl/ability/extra';
import { resourceAncestors } from '../../core/permission.js';
import {
  decisionContext,
  directGrant,
  parsePermission,
  publicGrant,
  rolesOf,
  type CompiledGrant,
  type CompiledModel,
} from './compile.js';
import type { DecisionEngine } from './rbac.js';
import type { RoleDecision, RolesResource, RolesUser } from './types.js';

type Ability = MongoAbility;
type RawRule = RawRuleOf<Ability>;

/** A user's ability and which grant each of its rules came from. */
interface UserAbility {
  ability: Ability;
  origins: Map<RawRule, CompiledGrant>;
}

/** `${user.id}` and `${user.claims.org}` in a condition value: the user's value at that path. */
const PLACEHOLDER = /^\$\{user\.([A-Za-z0-9_.]+)\}$/;
/** Stands for "every field" while @casl/ability merges the fields of a user's rules. */
const ALL_FIELDS = '\u0000all';

function valueAt(user: RolesUser, path: string): unknown {
  let value: unknown = user;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The conditions with each placeholder replaced by the user's value (a missing one is null). */
function interpolate(value: unknown, user: RolesUser): unknown {
  if (typeof value === 'string') {
    const match = PLACEHOLDER.exec(value);
    return match ? (valueAt(user, match[1]) ?? null) : value;
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, user));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, user)]),
    );
  return value;
}

/** Every user path the conditions read, so the ability cache keys on their values too. */
function placeholdersOf(value: unknown, into: Set<string>): Set<string> {
  if (typeof value === 'string') {
    const match = PLACEHOLDER.exec(value);
    if (match) into.add(match[1]);
  } else if (Array.isArray(value)) for (const item of value) placeholdersOf(item, into);
  else if (value !== null && typeof value === 'object')
    for (const item of Object.values(value)) placeholdersOf(item, into);
  return into;
}

/** `*` is @casl/ability's `manage` (any action) and `all` (any subject). */
const actionOf = (action: string) => (action === '*' ? 'manage' : action);
const subjectOf = (resource: string) => (resource === '*' ? 'all' : resource);

/**
 * ABAC on @casl/ability: each user's grants (roles, inherited, assigned, direct) become one
 * ability, built once per distinct user and kept in a bounded cache. A check without a resource
 * asks whether the user may act on some resource of that type (conditions are not evaluated);
 * with one, the conditions decide.
 */
export class AbacEngine implements DecisionEngine {
  private readonly cache = new Map<string, UserAbility>();
  private readonly paths: string[];

  constructor(
    private readonly model: CompiledModel,
    private readonly cacheSize: number,
  ) {
    const paths = new Set<string>();
    for (const role of model.roles.values())
      for (const grant of role.own) placeholdersOf(grant.conditions, paths);
    this.paths = [...paths];
  }

  can(user: RolesUser, permission: string, resource?: RolesResource): boolean {
    const parsed = parsePermission(permission);
    if (parsed === undefined) return false;
    const { ability } = this.abilityOf(user);
    const action = actionOf(parsed.action);
    return this.typesOf(parsed.resource).some((type) =>
      ability.can(action, this.target(type, resource)),
    );
  }

  /**
   * The resource and those above it, nearest first: a grant on `deploy` covers `deploy:api` (as
   * `core/permission.ts` rules), which @casl/ability's subjects, plain names, do not know.
   */
  private typesOf(type: string): string[] {
    return type.includes(':') ? [type, ...resourceAncestors(type)] : [type];
  }

  explain(user: RolesUser, permission: string, resource?: RolesResource): RoleDecision {
    const parsed = parsePermission(permission);
    const around = decisionContext(this.model, user);
    const base = {
      permission,
      rolesConsidered: around.rolesConsidered,
      unknownRoles: around.unknownRoles,
    };
    if (parsed === undefined)
      return { ...base, allowed: false, reason: 'invalid-permission', closest: [] };
    const { ability, origins } = this.abilityOf(user);
    const action = actionOf(parsed.action);
    let grant: CompiledGrant | undefined;
    for (const type of this.typesOf(parsed.resource)) {
      const rule = ability.relevantRuleFor(action, this.target(type, resource));
      grant = rule && !rule.inverted ? origins.get(rule.origin as RawRule) : undefined;
      if (grant !== undefined) break;
    }
    const closest = around.closestTo(parsed.action, parsed.resource, grant);
    if (grant !== undefined)
      return { ...base, allowed: true, reason: 'granted', grant: publicGrant(grant), closest };
    // Rules for the type exist, but none whose conditions this resource meets.
    const conditional = ability.rulesFor(action, subjectOf(parsed.resource)).length > 0;
    return {
      ...base,
      allowed: false,
      reason: conditional ? 'conditions-not-met' : 'no-grant',
      closest,
    };
  }

  fieldsFor(user: RolesUser, permission: string, resource?: RolesResource): string[] | undefined {
    const parsed = parsePermission(permission);
    if (parsed === undefined) return [];
    const { ability } = this.abilityOf(user);
    const action = actionOf(parsed.action);
    // The nearest type a grant covers decides, as in `can`.
    const types = this.typesOf(parsed.resource);
    const type =
      types.find((candidate) => ability.can(action, this.target(candidate, resource))) ??
      parsed.resource;
    const fields = permittedFieldsOf(ability, action, this.target(type, resource), {
      fieldsFrom: (rule) => rule.fields ?? [ALL_FIELDS],
    });
    return fields.includes(ALL_FIELDS) ? undefined : fields;
  }

  /** The resource as @casl/ability's subject: typed by the permission's resource, copied. */
  private target(type: string, resource: RolesResource | undefined) {
    const name = subjectOf(type);
    return resource === undefined ? name : subject(name, { ...resource });
  }

  private abilityOf(user: RolesUser): UserAbility {
    const key = JSON.stringify([
      user.id,
      user.roles,
      user.permissions,
      this.paths.map((path) => valueAt(user, path) ?? null),
    ]);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      // Most recently used last: the first key is the one to drop.
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const built = this.build(user);
    this.cache.set(key, built);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return built;
  }

  private build(user: RolesUser): UserAbility {
    const origins = new Map<RawRule, CompiledGrant>();
    const grants: CompiledGrant[] = [];
    for (const name of rolesOf(this.model, user))
      grants.push(...(this.model.roles.get(name)?.effective ?? []));
    for (const held of user.permissions) {
      const grant = directGrant(held);
      if (grant) grants.push(grant);
    }
    // @casl/ability lets later rules win; the nearest grant goes last so explanations name it.
    const rules = grants.toReversed().map((grant) => {
      const rule = {
        action: actionOf(grant.action),
        subject: subjectOf(grant.resource),
        ...(grant.conditions ? { conditions: interpolate(grant.conditions, user) } : {}),
        ...(grant.fields ? { fields: [...grant.fields] } : {}),
      } as RawRule;
      origins.set(rule, grant);
      return rule;
    });
    return { ability: createMongoAbility(rules), origins };
  }
}
