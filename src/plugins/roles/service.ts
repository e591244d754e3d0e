import type { Logger } from 'pino';
import { holdsPartOf, permissionOverlaps } from '../../core/permission.js';
import { rolesOf } from './compile.js';
import type { LiveModel } from './model.js';
import type { PermissionRefusal, RoleSummary, RolesService } from './types.js';

function summaryOf(live: LiveModel): RoleSummary[] {
  const { compiled, sources } = live;
  return [...compiled.roles.values()].map((role) => ({
    name: role.name,
    ...(role.description === undefined ? {} : { description: role.description }),
    source: sources.get(role.name) ?? 'config',
    inherits: role.inherits,
    grants: role.own.map((grant) => grant.pattern),
    effective: [...new Set(role.effective.map((grant) => grant.pattern))],
    assigned: [...compiled.assignments.values()].filter((names) => names.includes(role.name))
      .length,
  }));
}

/**
 * The `roles` service over either engine: guards' refusals, their debug log, the summary.
 * `install` replaces the model whole (one reference), so a decision never sees half a change.
 */
export function rolesService(
  model: 'rbac' | 'abac',
  initial: LiveModel,
  logger: Logger,
): { service: RolesService; install(live: LiveModel): void; current(): LiveModel } {
  let live = initial;
  let summary: RoleSummary[] | undefined;
  const service: RolesService = {
    model,
    can: (user, permission, resource) => live.engine.can(user, permission, resource),
    // For gates that check the rest once the request is read; not a hot path, so it scans.
    canPartly: (user, permission) => {
      const { engine, compiled } = live;
      return (
        engine.can(user, permission) ||
        holdsPartOf(user.permissions, permission) ||
        rolesOf(compiled, user).some((name) =>
          (compiled.roles.get(name)?.effective ?? []).some((grant) =>
            permissionOverlaps(grant.pattern, permission),
          ),
        )
      );
    },
    explain: (user, permission, resource) => live.engine.explain(user, permission, resource),
    fieldsFor: (user, permission, resource) => live.engine.fieldsFor(user, permission, resource),
    refusal(user, permissions, resource): PermissionRefusal | undefined {
      const engine = live.engine;
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
    describe: () => (summary ??= summaryOf(live)),
  };
  return {
    service,
    install(next) {
      live = next;
      summary = undefined;
    },
    current: () => live,
  };
}
