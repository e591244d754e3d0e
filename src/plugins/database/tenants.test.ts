import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HttpError, type App, type ServerPlugin } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import {
  ITEMS_SQL,
  TARGETS,
  items,
  removeTempDirs,
  startApp,
  writeMigrations,
  type Sandbox,
} from './test-support/targets.js';

afterAll(removeTempDirs);
const apps: App[] = [];
const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
});

async function open(provider: string) {
  const target = TARGETS.find((candidate) => candidate.provider === provider)!;
  const sandbox = await target.sandbox();
  sandboxes.push(sandbox);
  // A route that opens a tenant from the URL, as a product would from a subdomain or token.
  const tenantRoute: ServerPlugin = {
    name: 'tenant-api',
    dependencies: ['database'],
    routes: [
      {
        method: 'get',
        path: '/t/:id/items',
        handler: async (req, res) => {
          const tenant = await req.context.services
            .get('database')
            .forTenant(String(req.params.id));
          res.json(await items(tenant).all());
        },
      },
    ],
  };
  const started = await startApp(
    { ...sandbox.options, migrations: await writeMigrations({ '0001_items': ITEMS_SQL }) },
    [tenantRoute],
  );
  apps.push(started.app);
  return { ...started, sandbox };
}

const schemaTargets = TARGETS.filter(
  (target) => target.provider === 'postgres' || target.provider === 'pglite',
);

describe.each(schemaTargets)('schema per tenant on $provider', (target) => {
  it.skipIf(!target.available)(
    'gives each tenant its own migrated schema, isolated from the others and from the main one',
    async () => {
      const { app, db, sandbox } = await open(target.provider);
      const [a, b] = [sandbox.tenant('a'), sandbox.tenant('b')];
      const tenantA = await db.forTenant(a);
      const tenantB = await db.forTenant(b);
      expect(tenantA.schema).toBe(`tenant_${a}`);
      expect(await db.forTenant(a)).toBe(tenantA);

      await items(tenantA).insert({ id: 1, name: 'only in a' });
      await tenantB.transaction(async (tx) => items(tx).insert({ id: 2, name: 'only in b' }));
      expect(await items(tenantA).all()).toEqual([{ id: 1, name: 'only in a' }]);
      expect(await items(tenantB).all()).toEqual([{ id: 2, name: 'only in b' }]);
      expect(await items(db).all()).toEqual([]);
      expect((await tenantA.migrations()).map((m) => m.name)).toEqual(['0001_items']);

      const response = await fetch(`${baseUrl(app)}/t/${a}/items`);
      expect(await response.json()).toEqual([{ id: 1, name: 'only in a' }]);
    },
  );

  it.skipIf(!target.available)(
    'applies migrations a plugin registers later to tenant schemas already open',
    async () => {
      const { db, sandbox } = await open(target.provider);
      const tenant = await db.forTenant(sandbox.tenant('late'));
      const notes = await writeMigrations({
        '0001_notes': 'CREATE TABLE notes (id integer PRIMARY KEY)',
      });
      await db.registerMigrations('notes', { postgres: notes });
      expect((await tenant.migrations()).map((m) => `${m.plugin}/${m.name}`)).toEqual([
        'app/0001_items',
        'notes/0001_notes',
      ]);
      if (!tenant.is('postgresql')) throw new Error('expected the postgresql dialect');
      const { rows } = await tenant.drizzle.execute(sql`SELECT count(*)::int AS count FROM notes`);
      expect(rows).toEqual([{ count: 0 }]);
    },
  );

  it.skipIf(!target.available)('refuses ids that are not safe identifiers with a 400', async () => {
    const { app, db } = await open(target.provider);
    for (const id of ['', 'Upper', 'semi;colon', 'a-b', '../x', 'x'.repeat(49), 'a"b']) {
      const failure = (await db.forTenant(id).catch((error: unknown) => error)) as HttpError;
      expect(failure, id).toBeInstanceOf(HttpError);
      expect(failure.status).toBe(400);
      expect(failure.code).toBe('DATABASE_TENANT_INVALID');
    }
    const response = await fetch(`${baseUrl(app)}/t/${encodeURIComponent('x;drop')}/items`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ code: 'DATABASE_TENANT_INVALID' });
  });
});

describe.each(
  TARGETS.filter((target) => target.provider === 'sqlite' || target.provider === 'mysql'),
)('tenants on $provider', (target) => {
  it.skipIf(!target.available)('are refused as unsupported (no schemas)', async () => {
    const { db } = await open(target.provider);
    const failure = (await db.forTenant('acme').catch((error: unknown) => error)) as HttpError;
    expect(failure.code).toBe('DATABASE_TENANT_UNSUPPORTED');
  });
});
