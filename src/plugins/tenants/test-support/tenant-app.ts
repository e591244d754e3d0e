import type { AddressInfo } from 'node:net';
import { createApp, type App, type ServerPlugin } from '../../../index.js';
import { captureLogs } from '../../../../test/support/http.js';
import { createApiKeysPlugin } from '../../api-keys/index.js';
import { createAuthPlugin } from '../../auth/index.js';
import { testIssuer, type TestIssuer } from '../../auth/test-support/gateway-kit.js';
import { createDatabasePlugin, type Database, type DatabaseOptions } from '../../database/index.js';
import { ITEMS_SQL, items, writeMigrations } from '../../database/test-support/targets.js';
import { createRolesPlugin, requirePermission } from '../../roles/index.js';
import {
  createTenantsPlugin,
  requireTenant,
  tenantDatabase,
  type TenantsOptions,
} from '../index.js';

/**
 * A product's routes over the tenant's own `items` table: read needs `read:items`, write
 * `write:items`. Both at `/items` (tenant from a header or a claim) and `/t/:tenant/items`.
 */
export const itemsPlugin: ServerPlugin = {
  name: 'items',
  routes: ['/items', '/t/:tenant/items'].flatMap((path) => [
    {
      method: 'get' as const,
      path,
      handler: [
        requireTenant(),
        requirePermission('read:items'),
        async (req, res) => {
          res.json({ tenant: req.tenant!.id, items: await items(tenantDatabase(req)).all() });
        },
      ],
    },
    {
      method: 'post' as const,
      path,
      handler: [
        requireTenant(),
        requirePermission('write:items'),
        async (req, res) => {
          const body = req.body as { id: number; name: string };
          await items(tenantDatabase(req)).insert({ id: body.id, name: body.name });
          res.status(201).json({ tenant: req.tenant!.id, roles: req.tenant!.roles });
        },
      ],
    },
  ]),
};

export interface TenantApp {
  app: App;
  url: string;
  db: Database;
  issuer: TestIssuer;
  /** A token of the `admin` role, for the admin API. */
  admin: string;
  logs: Record<string, unknown>[];
  /** Calls the app as the admin: JSON in and out. */
  asAdmin(method: string, path: string, body?: unknown): Promise<Response>;
}

/** The product app: database (with `items`), auth, roles, API keys, tenants and the items routes. */
export async function startTenantApp(
  database: DatabaseOptions,
  tenants: TenantsOptions = {},
  extra: ServerPlugin[] = [],
): Promise<TenantApp> {
  const issuer = await testIssuer();
  const capture = captureLogs();
  const app = createApp({
    name: 'tenants-test',
    port: 0,
    host: '127.0.0.1',
    logger: { destination: capture.stream, level: 'info', stdout: false },
    shutdown: { signals: false, readinessDelay: 0, drainTimeout: 1_000 },
    plugins: [
      createDatabasePlugin({
        ...database,
        migrations: await writeMigrations({ '0001_items': ITEMS_SQL }),
      }),
      createAuthPlugin({ providers: [issuer.provider], controlPanel: { adminRoles: ['admin'] } }),
      createRolesPlugin({
        permissions: {
          viewer: ['read:items'],
          editor: ['read:items', 'write:items'],
          admin: ['*'],
        },
      }),
      createApiKeysPlugin(),
      createTenantsPlugin(tenants),
      itemsPlugin,
      ...extra,
    ],
  });
  await app.start();
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const admin = await issuer.token({ sub: 'root', roles: ['admin'] });
  return {
    app,
    url,
    db: app.context.services.get('database'),
    issuer,
    admin,
    logs: capture.lines,
    asAdmin: (method, path, body) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}
