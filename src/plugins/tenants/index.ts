import type { Request } from 'express';
import type { SQL } from 'drizzle-orm';
import { ConfigError } from '../../core/errors.js';
import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { AuthUser } from '../auth/index.js';
import { tenantsOptionsSchema, type TenantsConfig, type TenantsOptions } from './options.js';
import { tenantsPanel } from './panel.js';
import { tenantsRoutes } from './routes.js';
import type { MembershipStore } from './store.js';
import { attachResolver, type TenantContext, type TenantResolver } from './tenant.js';

export { TENANTS_ERRORS } from './errors.js';
export { requireTenant, tenantDatabase, tenantOf } from './tenant.js';
export type { TenantContext } from './tenant.js';
export type { TenantSource, TenantsConfig, TenantsOptions } from './options.js';
export type { Membership, MembershipStore, TenantSummary } from './store.js';

/** The `tenants` service (`ctx.get('tenants')`). */
export interface TenantsService {
  /** Memberships: who may act in which tenant, with which roles. */
  readonly members: MembershipStore;
  /**
   * The tenant of a request and the caller as it acts there, or the 400/401/403 `HttpError`
   * `requireTenant()` answers with: for a product that settles tenants outside Express routes.
   */
  resolve(req: Request): Promise<{ tenant: TenantContext; user: AuthUser }>;
  /**
   * A subquery of the ids of a tenant's members (400 for a bad id), for a store in the same
   * database that lists only that tenant's users: `WHERE id IN (<memberIds>)`.
   */
  memberIds(tenantId: string): SQL;
}

declare module '../../core/services.js' {
  interface Services {
    tenants: TenantsService;
  }
}

/**
 * Multi-tenant products: memberships (a user belongs to several tenants, with roles in each) in
 * the database plugin's database, and `requireTenant()` for product routes. The current tenant
 * comes from one configured source (`from: { header: 'x-tenant-id' }` by default, or
 * `{ param: 'tenant' }`, or `{ claim: 'org_id' }`); nothing else in the request can name it. The
 * guard answers 401 to anonymous callers, 400 to a bad or missing id, 403 to non-members, and
 * otherwise sets `req.tenant = { id, roles, db }` (`db`: `database.forTenant(id)`, the schema
 * `tenant_<id>`) and makes `req.user` the caller as it acts there: its roles are the
 * membership's (plus `globalRoles`), so `requirePermission()` decides per tenant. An API key
 * created with a `tenantId` acts only inside that tenant, with its scopes as permissions.
 * Needs the database and auth plugins; provides `tenants`.
 *
 * Routes (all `admin`):
 * - `GET /api/tenants`: `{ tenants: [{ tenantId, members }] }`; `?user=<id>`: `{ memberships }`.
 * - `GET /api/tenants/:tenant/members`: `{ members: [{ tenantId, userId, roles, ... }] }`.
 * - `PUT /api/tenants/:tenant/members/:userId` `{ roles }`; `DELETE` the same path (204).
 *
 * Its control-panel page lists the tenants and their member counts.
 *
 * A membership names the user by its auth id (`auth0|<sub>`, `api-key|<id>`, as roles
 * assignments do) or, for a signed-in session, by its product user id (the users plugin's,
 * which `GET /api/users?tenant=` lists); either matches.
 *
 * @example
 * createApp({ name: 'api', plugins: [
 *   createDatabasePlugin({ url: process.env.DATABASE_URL }), createAuthPlugin({ providers }),
 *   createRolesPlugin({ permissions: { editor: ['write:items'] } }),
 *   createTenantsPlugin({ from: { param: 'tenant' } }),
 *   { name: 'items', routes: [{ method: 'get', path: '/t/:tenant/items',
 *     handler: [requireTenant(), async (req, res) => res.json(await listItems(tenantDatabase(req)))] }] },
 * ] })
 */
export function createTenantsPlugin(options: TenantsOptions = {}): ServerPlugin<TenantsConfig> {
  let service: TenantsService | undefined;
  let removeFolders: (() => Promise<void>) | undefined;
  return {
    name: 'tenants',
    version: CORE_VERSION,
    dependencies: ['database', 'auth'],
    order: PLUGIN_ORDER.default,
    config: { schema: tenantsOptionsSchema, options },
    async onInit(ctx) {
      const config = ctx.config;
      const database = ctx.get('database');
      if (database.dialect !== 'postgresql' && !config.sharedSchema)
        throw new ConfigError([
          {
            name: 'plugins.tenants.sharedSchema',
            received: `false on provider "${database.provider}", which has no schemas`,
            expected:
              'PostgreSQL or PGlite (a schema per tenant), or sharedSchema: true to share the main database between tenants',
          },
        ]);
      const [{ MembershipStore }, { writeMigrationFolders }, { tenantResolver }, { tenantIdOf }] =
        await Promise.all([
          import('./store.js'),
          import('./schema.js'),
          import('./tenant.js'),
          import('./routes.js'),
        ]);
      const written = await writeMigrationFolders();
      removeFolders = written.remove;
      await database.registerMigrations('tenants', written.folders);
      const members = new MembershipStore(database);
      const resolve: TenantResolver = tenantResolver({
        config,
        members,
        database,
        logger: ctx.logger,
      });
      service = {
        members,
        resolve,
        memberIds: (tenantId) => members.memberIds(tenantIdOf(tenantId)),
      };
      ctx.provide('tenants', service);
      ctx.logger.info(
        { from: config.from, sharedSchema: database.dialect !== 'postgresql' },
        'tenants ready',
      );
    },
    middleware: () => [{ handler: attachResolver(() => service!.resolve) }],
    routes: (ctx) =>
      tenantsRoutes({ members: () => service!.members, config: ctx.config, logger: ctx.logger }),
    ui: (ctx) => tenantsPanel(ctx.config.basePath),
    async onShutdown() {
      await removeFolders?.();
    },
  };
}
