import { ConfigError } from '../../core/errors.js';
import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { apiKeysOptionsSchema, type ApiKeysConfig, type ApiKeysOptions } from './options.js';
import { apiKeysPanel } from './panel.js';
import { apiKeysRoutes } from './routes.js';
import type { ApiKeyStore } from './store.js';

export { API_KEYS_ERRORS } from './errors.js';
export type { ApiKeysConfig, ApiKeysOptions } from './options.js';
export type { ApiKey, ApiKeyStore } from './store.js';

declare module '../../core/services.js' {
  interface Services {
    'api-keys': ApiKeyStore;
  }
}

/**
 * API keys for machines (CI deploys, other services): `Authorization: Bearer qwk_<id>_<secret>`
 * is accepted at the gateway and on management routes, as the caller `api-key|<id>` whose
 * permissions are the key's scopes (`traffic:deploy`, `read:*`; `admin:*` passes the auth
 * plugin's admin guard). Keys live in the database plugin's database as SHA-256 hashes only, and
 * every check reads the key's row, so a revocation counts at once on every instance. Needs the
 * database and auth plugins. Provides `api-keys` (the store).
 *
 * Routes (all `admin`; the permission a caller who is no admin needs in brackets):
 * - `POST /api/keys` `{ name, scopes, expiresIn?, tenantId? }` (seconds): 201 with the key,
 *   shown only here. A key with a `tenantId` acts only inside that tenant (the tenants plugin's
 *   `requireTenant()` grants its scopes there); anywhere else it holds no permission at all.
 *   Admins only: a key that could create keys could give itself any scope.
 * - `GET /api/keys` [`api-keys:read`]: `{ keys }`, each `id, name, prefix, scopes, tenantId,
 *   createdAt, expiresAt, lastUsedAt, revokedAt`, never the key.
 * - `DELETE /api/keys/:id` [`api-keys:revoke`]: revokes it (204).
 *
 * A scope is a permission by the rule of `core/permission.ts`: `traffic:deploy:api` deploys the
 * service `api` only, `traffic:deploy` any service, `traffic:*` every traffic command.
 *
 * Its control-panel page lists the keys and revokes them.
 *
 * @example
 * createGateway({ plugins: [
 *   createDatabasePlugin(), createAuthPlugin({ providers, controlPanel: { adminRoles: ['admin'] } }),
 *   createApiKeysPlugin(),
 * ] })
 */
export function createApiKeysPlugin(options: ApiKeysOptions = {}): ServerPlugin<ApiKeysConfig> {
  let store: ApiKeyStore | undefined;
  return {
    name: 'api-keys',
    version: CORE_VERSION,
    // Optional, so that a missing database is a ConfigError that says what to do.
    optionalDependencies: ['database'],
    // Early, with the auth plugin, which starts after this one: its hook must see ours first.
    order: PLUGIN_ORDER.early,
    config: { schema: apiKeysOptionsSchema, options },
    async onInit(ctx) {
      const database = ctx.tryGet('database');
      if (database === undefined)
        throw new ConfigError([
          {
            name: 'plugins.api-keys',
            received: 'no database plugin',
            expected:
              'the database plugin, where keys are stored: register createDatabasePlugin(...) too',
          },
        ]);
      const [{ ApiKeyStore }, { migrationFolders }, { apiKeyHook }] = await Promise.all([
        import('./store.js'),
        import('./schema.js'),
        import('./edge-hook.js'),
      ]);
      await database.registerMigrations('api-keys', migrationFolders());
      store = new ApiKeyStore(database, ctx.config, ctx.logger);
      ctx.provide('api-keys', store);
      ctx.app.edge.add(apiKeyHook(() => store!, ctx.logger));
      ctx.logger.info({ basePath: ctx.config.basePath }, 'api keys ready');
    },
    async onReady(ctx) {
      // The auth plugin answers refused keys (401), guards permissions and the admin gate.
      if (ctx.tryGet('auth') === undefined)
        throw new ConfigError([
          {
            name: 'plugins.api-keys',
            received: 'no auth plugin',
            expected:
              'the auth plugin, which refuses bad keys and checks scopes: register createAuthPlugin(...) too',
          },
        ]);
    },
    routes: (ctx) => apiKeysRoutes({ store: () => store!, config: ctx.config, logger: ctx.logger }),
    ui: (ctx) => apiKeysPanel(ctx.config.basePath),
    async onShutdown() {},
  };
}
