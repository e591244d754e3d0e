import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { usersOptionsSchema, type UsersConfig, type UsersOptions } from './options.js';
import { usersPanel } from './panel.js';
import { usersRoutes, type RolesLike, type TenantsLike } from './routes.js';
import type { UserStore } from './store.js';

export { USERS_ERRORS } from './errors.js';
export { USER_ID_CLAIM, userIdOf } from './sign-in.js';
export type { UsersConfig, UsersOptions } from './options.js';
export type { ListQuery, User, UserIdentity, UserPage, UserStore } from './store.js';
export type { SortOrder, UserSort } from './cursor.js';
export type { RolesLike, TenantsLike } from './routes.js';

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
  return {
    name: 'users',
    dependencies: ['database'],
    // The auth plugin, when there, must provide its service first: the sign-in hook goes on it.
    optionalDependencies: ['auth'],
    order: PLUGIN_ORDER.default,
    config: { schema: usersOptionsSchema, options },
    async onInit(ctx) {
      const [{ UserStore }, { migrationFolders }, { usersSignInHook }] = await Promise.all([
        import('./store.js'),
        import('./schema.js'),
        import('./sign-in.js'),
      ]);
      const config = ctx.config;
      const database = ctx.get('database');
      await database.registerMigrations(
        config.table === 'users' ? 'users' : `users:${config.table}`,
        migrationFolders(config.table),
      );
      store = new UserStore(database, config);
      ctx.provide('users', store);
      removeHook = ctx.tryGet('auth')?.onSignIn(usersSignInHook(store, config, ctx.logger));
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
        logger: ctx.logger,
      }),
    ui: (ctx) => usersPanel(ctx.config.basePath),
    async onShutdown() {
      removeHook?.();
    },
  };
}
