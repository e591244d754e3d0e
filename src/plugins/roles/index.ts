import { ConfigError } from '../../core/errors.js';
import type { PluginContext } from '../../core/context.js';
import type { ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { attachService } from './express.js';
import { rolesOptionsSchema, type RolesConfig, type RolesOptions } from './options.js';
import { rolesPanel } from './panel.js';
import { rolesRoutes } from './routes.js';
import type { CompiledModel } from './compile.js';
import type { DecisionEngine } from './rbac.js';
import type { RolesAdmin } from './admin.js';
import type { RolesSync } from './sync.js';
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
async function abacEngines(
  config: RolesConfig,
): Promise<(compiled: CompiledModel) => DecisionEngine> {
  try {
    const { AbacEngine } = await import('./abac.js');
    return (compiled) => new AbacEngine(compiled, config.abilityCacheSize);
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

/** With `storage: 'database'`: the store, its tables and what keeps this instance current. */
async function openStorage(ctx: PluginContext<RolesConfig>) {
  const database = ctx.tryGet('database');
  if (database === undefined)
    throw new ConfigError([
      {
        name: 'plugins.roles.storage',
        received: '"database" without the database plugin',
        expected:
          "the database plugin, where roles are stored: register createDatabasePlugin(...) too, or use storage: 'config'",
      },
    ]);
  const [{ migrationFolders }, { RoleStore }, { RolesSync }, { RolesAdmin }] = await Promise.all([
    import('./schema.js'),
    import('./store.js'),
    import('./sync.js'),
    import('./admin.js'),
  ]);
  await database.registerMigrations('roles', migrationFolders());
  return { database, store: new RoleStore(database), RolesSync, RolesAdmin };
}

/**
 * What a user may do: `action:resource` permissions with `*` on either side (or alone), roles
 * that inherit (a cycle or an unknown role fails start-up, naming it), roles assigned by user id,
 * and with `model: 'abac'` conditions on the resource and field limits (@casl/ability). Compiled
 * into a model, so a check is a few map lookups. Every decision is explainable.
 *
 * `storage: 'database'` (needs the database plugin) adds roles and assignments kept in its
 * database, changed at run time; the configured ones stay the read-only base (a stored role may
 * not take a configured name). A change is answered once this instance decides with it and, on
 * PostgreSQL, every listening instance has acknowledged it (LISTEN/NOTIFY, `propagationTimeout`);
 * MySQL and SQLite instances read the revision every `refreshInterval` ms.
 * - Provides `roles` (`can`, `explain`, `fieldsFor`, `refusal`); `requirePermission()` guards
 *   Express routes, and the auth plugin checks proxy routes' `permissions` through it.
 * - `GET /api/roles`, `GET|POST /api/roles/explain` (admin, `roles:read`): the roles, and why.
 * - With `storage: 'database'` (admin, `roles:write`; reads `roles:read`): `POST /api/roles`
 *   `{ name, description?, inherits, grants, replace? }`, `PUT|DELETE /api/roles/:name`,
 *   `GET /api/roles/assignments?user=`, `POST /api/roles/assignments` `{ user, role }`,
 *   `DELETE /api/roles/assignments/:user/:role`.
 * - A Roles page in the control panel (forms and buttons that change stored roles with
 *   `storage: 'database'`).
 * @example
 * createRolesPlugin({
 *   permissions: { admin: ['*'], editor: ['write:content'], viewer: ['read:*'] },
 *   roles: { editor: { inherits: ['viewer'] } },
 *   storage: 'database', // with createDatabasePlugin(...)
 * })
 */
export function createRolesPlugin(options: RolesOptions = {}): ServerPlugin<RolesConfig> {
  let service: RolesService | undefined;
  let sync: RolesSync | undefined;
  let admin: RolesAdmin | undefined;
  return {
    name: 'roles',
    version: CORE_VERSION,
    // Optional, so that storage: 'database' without it is a ConfigError that says what to do.
    optionalDependencies: ['database'],
    config: { schema: rolesOptionsSchema, options },
    async onInit(ctx) {
      const config = ctx.config;
      const [{ RbacEngine }, { rolesService }, { buildModel }] = await Promise.all([
        import('./rbac.js'),
        import('./service.js'),
        import('./model.js'),
      ]);
      const engineFor =
        config.model === 'abac'
          ? await abacEngines(config)
          : (compiled: CompiledModel) => new RbacEngine(compiled);
      if (config.storage === 'config') {
        service = rolesService(
          config.model,
          buildModel(config, undefined, engineFor),
          ctx.logger,
        ).service;
      } else {
        const storage = await openStorage(ctx);
        const stored = await storage.store.load();
        const shadowed = [...stored.roles.keys()].filter(
          (name) => name in config.permissions || name in config.roles,
        );
        if (shadowed.length > 0)
          ctx.logger.warn(
            { roles: shadowed },
            'stored roles named like configured ones are ignored: the configuration wins',
          );
        const live = rolesService(config.model, buildModel(config, stored, engineFor), ctx.logger);
        service = live.service;
        sync = new storage.RolesSync(
          storage.store,
          stored,
          (state) => live.install(buildModel(config, state, engineFor)),
          ctx.logger,
        );
        admin = new storage.RolesAdmin(config, storage.store, sync);
        const mode = await sync.start(storage.database, config.refreshInterval);
        const waiting = sync;
        // A request that arrives while a notified change is loading decides with the change.
        ctx.app.edge.add({
          name: 'roles-sync',
          phase: 'identify',
          run: () => waiting.pending?.then(() => false) ?? false,
        });
        ctx.logger.info(
          {
            mode,
            revision: stored.revision,
            refreshInterval: mode === 'poll' ? config.refreshInterval : undefined,
          },
          'stored roles followed',
        );
      }
      ctx.provide('roles', service);
      const roles = service.describe();
      ctx.logger.info(
        { model: config.model, storage: config.storage, roles: roles.length },
        'roles ready',
      );
    },
    middleware: () => [{ handler: attachService(service!) }],
    routes: (ctx) =>
      rolesRoutes(
        ctx.config.basePath,
        () => service!,
        ctx.config.storage === 'database'
          ? { config: ctx.config, admin: () => admin!, sync: () => sync! }
          : undefined,
      ),
    ui: (ctx) => rolesPanel(ctx.config.basePath, ctx.config.storage),
    async onShutdown() {
      await sync?.stop();
    },
  };
}
