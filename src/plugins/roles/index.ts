import { ConfigError } from '../../core/errors.js';
import type { ServerPlugin } from '../../core/plugin.js';
import { attachService } from './express.js';
import { rolesOptionsSchema, type RolesConfig, type RolesOptions } from './options.js';
import { rolesPanel } from './panel.js';
import { rolesRoutes } from './routes.js';
import type { CompiledModel } from './compile.js';
import type { DecisionEngine } from './rbac.js';
import type { RolesService } from './types.js';

export { requirePermission, type RequirePermissionOptions } from './express.js';
export { ROLES_ERRORS } from './errors.js';
export type { RolesConfig, RolesOptions } from './options.js';
export type {
  PermissionRefusal,
  RoleDecision,
  RoleGrant,
  RoleSummary,
  RolesResource,
  RolesService,
  RolesUser,
} from './types.js';

declare module '../../core/services.js' {
  interface Services {
    roles: RolesService;
  }
}

/** The ABAC engine, with @casl/ability; its absence is a configuration problem of the app. */
async function abacEngine(config: RolesConfig, compiled: CompiledModel): Promise<DecisionEngine> {
  try {
    const { AbacEngine } = await import('./abac.js');
    return new AbacEngine(compiled, config.abilityCacheSize);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw Object.assign(
      new ConfigError([
        {
          name: 'plugins.roles.model',
          received: '"abac" without @casl/ability',
          expected: 'install @casl/ability (npm install @casl/ability) to use model "abac"',
        },
      ]),
      { cause: error },
    );
  }
}

/**
 * What a user may do: `action:resource` permissions with `*` on either side (or alone), roles
 * that inherit (a cycle or an unknown role fails start-up, naming it), roles assigned by user id,
 * and with `model: 'abac'` conditions on the resource and field limits (@casl/ability). Compiled
 * once at start-up, so a check is a few map lookups. Every decision is explainable.
 * - Provides `roles` (`can`, `explain`, `fieldsFor`, `refusal`); `requirePermission()` guards
 *   Express routes, and the auth plugin checks proxy routes' `permissions` through it.
 * - `GET /api/roles`, `GET|POST /api/roles/explain` (admin): the roles, and why a decision.
 * - A Roles page in the control panel.
 * @example
 * createRolesPlugin({
 *   permissions: { admin: ['*'], editor: ['write:content'], viewer: ['read:*'] },
 *   roles: { editor: { inherits: ['viewer'] } },
 * })
 */
export function createRolesPlugin(options: RolesOptions = {}): ServerPlugin<RolesConfig> {
  let service: RolesService | undefined;
  return {
    name: 'roles',
    config: { schema: rolesOptionsSchema, options },
    async onInit(ctx) {
      const config = ctx.config;
      const [{ compileModel }, { RbacEngine }, { rolesService }] = await Promise.all([
        import('./compile.js'),
        import('./rbac.js'),
        import('./service.js'),
      ]);
      const compiled = compileModel(config);
      const engine =
        config.model === 'abac' ? await abacEngine(config, compiled) : new RbacEngine(compiled);
      service = rolesService(config.model, compiled, engine, ctx.logger);
      ctx.provide('roles', service);
      ctx.logger.info(
        { model: config.model, roles: compiled.roles.size, assignments: compiled.assignments.size },
        'roles ready',
      );
    },
    middleware: () => [{ handler: attachService(service!) }],
    routes: (ctx) => rolesRoutes(ctx.config.basePath, () => service!),
    ui: (ctx) => rolesPanel(ctx.config.basePath),
  };
}
