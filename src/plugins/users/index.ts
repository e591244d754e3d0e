import type { z } from 'zod';
import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { usersOptionsSchema, type UsersConfig, type UsersOptions } from './options.js';
import { usersPanel } from './panel.js';
import type { DisabledIdentities } from './disabled.js';
import { endSessionsOf, usersRoutes, type RolesLike, type TenantsLike } from './routes.js';
import type { UserStore } from './store.js';
import type { UserSync } from './sync.js';

export { USERS_ERRORS } from './errors.js';
export { USER_ID_CLAIM, userIdOf } from './sign-in.js';
export type { SyncConfig, SyncOptions, UsersConfig, UsersOptions } from './options.js';
export type { SyncCounts, SyncReport } from './sync.js';
export type { ListQuery, User, UserIdentity, UserPage, UserStore } from './store.js';
export type { SortOrder, UserSort } from './cursor.js';
export type { RolesLike, TenantsLike } from './routes.js';

/**
 * Sync credentials from the environment, which the app's `env` map (top-level keys only) cannot
 * name: AUTH0_MGMT_CLIENT_ID / AUTH0_MGMT_CLIENT_SECRET, SUPABASE_SERVICE_ROLE_KEY.
 */
function withEnvironment(
  options: UsersOptions,
  env: NodeJS.ProcessEnv,
): z.input<typeof usersOptionsSchema> {
  const sync = options.sync as Record<string, unknown> | undefined;
  if (sync === undefined || typeof sync !== 'object')
    return options as z.input<typeof usersOptionsSchema>;
  const filled: Record<string, unknown> = { ...sync };
  const fallback = (key: string, variable: string) => {
    if (filled[key] === undefined && env[variable]) filled[key] = env[variable];
  };
  if (sync.provider === 'auth0') {
    fallback('clientId', 'AUTH0_MGMT_CLIENT_ID');
    fallback('clientSecret', 'AUTH0_MGMT_CLIENT_SECRET');
  } else if (sync.provider === 'supabase') fallback('serviceRoleKey', 'SUPABASE_SERVICE_ROLE_KEY');
  return { ...options, sync: filled } as z.input<typeof usersOptionsSchema>;
}

declare module '../../core/services.js' {
  interface Services {
    users: UserStore;
  }
}

/**
 * Users of the product in the database plugin's database: configured fields validated
 * (required, unique, `email`, `url`, lengths), several identities (issuer + subject) per user,
 * and found or created at sign-in. With the auth plugin registered it adds a sign-in hook: the
 * user linked to the login's issuer and subject, else a new one from its email and name; a
 * disabled user is refused (403); the session's user carries the product user's id in
 * `claims[USER_ID_CLAIM]` (read it with `userIdOf(req.user)`). Provides `users` (the store).
 *
 * Routes (all `admin`; with a roles service also `users:read` / `users:write`):
 * - `GET /api/users?q=&limit=&cursor=&sort=createdAt|email|name&order=asc|desc`: a page and its `nextCursor`;
 *   with the tenants plugin, `tenant=<id>` keeps only that tenant's members (by product user id).
 * - `POST /api/users`, `GET|PATCH|DELETE /api/users/:id`, `POST /api/users/:id/identities`.
 * - `POST /api/users/:id/disable` (ends the user's sessions at once), `POST /api/users/:id/enable`.
 * - `POST /api/users/sync` (with `sync`): copies the provider's users (Auth0 Management API,
 *   Supabase admin API) now and answers the report; `GET /api/users/sync` the last report.
 *   With `sync.interval` it also runs on a timer; one sync at a time across instances.
 *
 * With the auth plugin, a disabled user's tokens and sessions are refused (403
 * `AUTH_IDENTITY_REFUSED`) from an in-memory set, reloaded on change and every `disabledRefresh`.
 *
 * @example
 * createApp({ name: 'api', plugins: [
 *   createDatabasePlugin(), createAuthPlugin({ providers }),
 *   createUsersPlugin({ table: 'users', fields: { email: { required: true, unique: true }, name: { required: true }, avatar: { type: 'url' } } }),
 * ] })
 */
export function createUsersPlugin(options: UsersOptions = {}): ServerPlugin<UsersConfig> {
  let store: UserStore | undefined;
  let removeHook: (() => void) | undefined;
  let roles: () => RolesLike | undefined = () => undefined;
  let tenants: () => TenantsLike | undefined = () => undefined;
  let disabled: DisabledIdentities | undefined;
  let removeCheck: (() => void) | undefined;
  let sync: UserSync | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'users',
    version: CORE_VERSION,
    dependencies: ['database'],
    // The auth plugin, when there, must provide its service first: the sign-in hook goes on it.
    optionalDependencies: ['auth'],
    order: PLUGIN_ORDER.default,
    config: { schema: usersOptionsSchema, options: withEnvironment(options, process.env) },
    async onInit(ctx) {
      const [
        { UserStore },
        { migrationFolders },
        { usersSignInHook },
        { DisabledIdentities },
        { UserSync },
        { syncSource },
      ] = await Promise.all([
        import('./store.js'),
        import('./schema.js'),
        import('./sign-in.js'),
        import('./disabled.js'),
        import('./sync.js'),
        import('./providers.js'),
      ]);
      const config = ctx.config;
      const database = ctx.get('database');
      await database.registerMigrations(
        config.table === 'users' ? 'users' : `users:${config.table}`,
        migrationFolders(config.table),
      );
      store = new UserStore(database, config);
      ctx.provide('users', store);
      const auth = ctx.tryGet('auth');
      removeHook = auth?.onSignIn(usersSignInHook(store, config, ctx.logger));
      disabled = new DisabledIdentities(database, config.table, config.disabledRefresh, ctx.logger);
      await disabled.start();
      const disabledSet = disabled;
      removeCheck = auth?.onIdentify((user) =>
        disabledSet.has(user.issuer, user.subject) ? 'This account is disabled.' : undefined,
      );
      if (config.sync) {
        const syncConfig = config.sync;
        sync = new UserSync({
          db: database,
          store,
          config: { ...config, sync: syncConfig },
          source: syncSource(syncConfig),
          logger: ctx.logger,
          endSessions: (identities) => endSessionsOf(ctx.tryGet('auth'), identities),
          onDisabled: () => disabledSet.changed(),
        });
        if (syncConfig.interval !== undefined) {
          const running = sync;
          timer = setInterval(() => {
            running.run().catch((error: unknown) => {
              const code = (error as { code?: unknown }).code;
              if (code === 'USERS_SYNC_RUNNING')
                ctx.logger.debug('user sync skipped: another instance holds the lock');
              else ctx.logger.warn({ reason: (error as Error).message }, 'user sync failed');
            });
          }, syncConfig.interval);
          timer.unref();
        }
      }
      // Looked up per request and typed here only: the roles plugin may register after this one,
      // and this plugin never imports its code.
      const services = ctx as unknown as { tryGet(key: string): unknown };
      roles = () => services.tryGet('roles') as RolesLike | undefined;
      tenants = () => services.tryGet('tenants') as TenantsLike | undefined;
      ctx.logger.info(
        {
          table: config.table,
          fields: Object.keys(config.fields),
          signIn: removeHook !== undefined,
          sync: config.sync
            ? { provider: config.sync.provider, interval: config.sync.interval }
            : false,
        },
        'users ready',
      );
    },
    routes: (ctx) =>
      usersRoutes({
        store: () => store!,
        config: ctx.config,
        basePath: ctx.config.basePath,
        roles: () => roles(),
        tenants: () => tenants(),
        auth: () => ctx.tryGet('auth'),
        sync: () => sync,
        changed: async () => disabled?.changed(),
        logger: ctx.logger,
      }),
    ui: (ctx) => usersPanel(ctx.config.basePath, ctx.config.sync !== undefined),
    async onShutdown() {
      clearInterval(timer);
      await sync?.stop();
      disabled?.stop();
      removeCheck?.();
      removeHook?.();
    },
  };
}
