import type { Logger } from 'pino';
import { holdsPartOf, permissionOverlaps } from '../../core/permission.js';
import { rolesOf, type CompiledModel } from './compile.js';
import type { DecisionEngine } from './rbac.js';
import type { PermissionRefusal, RoleSummary, RolesService } from './types.js';

/** The `roles` service over either engine: guards' refusals, their debug log, the summary. */
export function rolesService(
  model: 'rbac' | 'abac',
  compiled: CompiledModel,
  engine: DecisionEngine,
  logger: Logger,
): RolesService {
  const summary: RoleSummary[] = [...compiled.roles.values()].map((role) => ({
    name: role.name,
    ...(role.description === undefined ? {} : { description: role.description }),
    inherits: role.inherits,
    grants: role.own.map((grant) => grant.pattern),
    effective: [...new Set(role.effective.map((grant) => grant.pattern))],
    assigned: [...compiled.assignments.values()].filter((names) => names.includes(role.name))
      .length,
  }));
  return {
    model,
    can: (user, permission, resource) => engine.can(user, permission, resource),
    // For gates that check the rest once the request is read; not a hot path, so it scans.
    canPartly: (user, permission) =>
      engine.can(user, permission) ||
      holdsPartOf(user.permissions, permission) ||
      rolesOf(compiled, user).some((name) =>
        (compiled.roles.get(name)?.effective ?? []).some((grant) =>
          permissionOverlaps(grant.pattern, permission),
        ),
      ),
    explain: (user, permission, resource) => engine.explain(user, permission, resource),
    fieldsFor: (user, permission, resource) => engine.fieldsFor(user, permission, resource),
    refusal(user, permissions, resource): PermissionRefusal | undefined {
      for (const permission of permissions) {
        if (engine.can(user, permission, resource)) continue;
        // The explanation is for operators: it names roles and grants a caller should not learn.
        if (logger.isLevelEnabled('debug'))
          logger.debug(
            { user: user.id, decision: engine.explain(user, permission, resource) },
            'permission refused',
          );
        return {
          status: 403,
          code: 'ROLES_PERMISSION_MISSING',
          detail: `This needs the permission ${permission}.`,
          missing: permission,
        };
      }
      return undefined;
    },
    describe: () => summary,
  };
}
