import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, PluginLifecycleError, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import {
  ITEMS_SQL,
  TARGETS,
  items,
  removeTempDirs,
  startApp,
  writeMigrations,
  type Sandbox,
  type Started,
} from './test-support/targets.js';

afterAll(removeTempDirs);
/** One behavioural suite, run against every provider. */
describe.each(TARGETS)('database plugin on $provider', (target) => {
  describe.skipIf(!target.available)(`${target.provider}`, () => {
    let sandbox: Sandbox;
    const apps: App[] = [];
    const start = async (...args: Parameters<typeof startApp>): Promise<Started> => {
      const started = await startApp(...args);
      apps.push(started.app);
      return started;
    };

    beforeEach(async () => {
      sandbox = await target.sandbox();
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.stop()));
      await sandbox.cleanup();
    });

    it('applies migrations in order at start-up, records them, and serves CRUD through drizzle', async () => {
      const migrations = await writeMigrations({
        '0001_items': ITEMS_SQL,
        // Depends on 0001: it only works when applied after it.
        '0002_seed':
          "INSERT INTO items (id, name) VALUES (1, 'seeded')\n--> statement-breakpoint\nINSERT INTO items (id, name) VALUES (2, 'second')",
      });
      const { app, db } = await start({ ...sandbox.options, migrations });
      expect(db.provider).toBe(target.provider);
      const repo = items(db);
      expect(await repo.all()).toEqual([
        { id: 1, name: 'seeded' },
        { id: 2, name: 'second' },
      ]);

      await repo.insert({ id: 3, name: 'third' });
      await repo.rename(1, 'renamed');
      await repo.remove(2);
      expect(await repo.all()).toEqual([
        { id: 1, name: 'renamed' },
        { id: 3, name: 'third' },
      ]);

      const response = await fetch(`${baseUrl(app)}/api/database`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        provider: string;
        dialect: string;
        pool: unknown;
        migrations: { plugin: string; name: string; appliedAt: string }[];
      };
      expect(body).toMatchObject({ provider: target.provider, dialect: db.dialect });
      expect(body.pool).toEqual({
        total: expect.any(Number),
        idle: expect.any(Number),
        waiting: 0,
        max: expect.any(Number),
      });
      expect(
        body.migrations.map((m: { plugin: string; name: string }) => `${m.plugin}/${m.name}`),
      ).toEqual(['app/0001_items', 'app/0002_seed']);
      expect(Number.isNaN(Date.parse(body.migrations[0].appliedAt))).toBe(false);
    });

    it('is idempotent: migrate() again applies nothing and the seed is not repeated', async () => {
      const migrations = await writeMigrations({
        '0001_items': ITEMS_SQL,
        '0002_seed': "INSERT INTO items (id, name) VALUES (1, 'once')",
      });
      const { db } = await start({ ...sandbox.options, migrations });
      const before = await db.migrations();
      expect(await db.migrate()).toEqual([]);
      expect(await db.migrations()).toEqual(before);
      expect(await items(db).all()).toEqual([{ id: 1, name: 'once' }]);
    });

    it('rolls a transaction back when its callback throws, and commits when it resolves', async () => {
      const { db } = await start({
        ...sandbox.options,
        migrations: await writeMigrations({ '0001_items': ITEMS_SQL }),
      });
      const failure = await db
        .transaction(async (tx) => {
          await items(tx).insert({ id: 1, name: 'doomed' });
          expect(await items(tx).all()).toEqual([{ id: 1, name: 'doomed' }]);
          throw new Error('changed my mind');
        })
        .catch((error: unknown) => error);
      expect((failure as Error).message).toBe('changed my mind');
      expect(await items(db).all()).toEqual([]);

      const result = await db.transaction(async (tx) => {
        await items(tx).insert({ id: 2, name: 'kept' });
        return 'done';
      });
      expect(result).toBe('done');
      expect(await items(db).all()).toEqual([{ id: 2, name: 'kept' }]);
    });

    it('rolls back only the nested savepoint that threw, whether nested on tx or on the database', async () => {
      const { db } = await start({
        ...sandbox.options,
        migrations: await writeMigrations({ '0001_items': ITEMS_SQL }),
      });
      await db.transaction(async (tx) => {
        await items(tx).insert({ id: 1, name: 'outer' });
        await expect(
          tx.transaction(async (inner) => {
            await items(inner).insert({ id: 2, name: 'inner' });
            throw new Error('inner fails');
          }),
        ).rejects.toThrow('inner fails');
        // Called on the database inside a transaction: a savepoint of the same transaction.
        await db.transaction(async (inner) => {
          await items(inner).insert({ id: 3, name: 'nested on db' });
        });
        await expect(
          db.transaction(async (inner) => {
            await items(inner).insert({ id: 4, name: 'nested on db, failing' });
            throw new Error('also fails');
          }),
        ).rejects.toThrow('also fails');
      });
      expect(await items(db).all()).toEqual([
        { id: 1, name: 'outer' },
        { id: 3, name: 'nested on db' },
      ]);

      // The savepoint was part of the outer transaction: rolling the outer back removes it too.
      await db
        .transaction(async (tx) => {
          await tx.transaction(async (inner) =>
            items(inner).insert({ id: 5, name: 'gone with outer' }),
          );
          throw new Error('outer fails');
        })
        .catch(() => undefined);
      expect((await items(db).all()).map((item) => item.id)).toEqual([1, 3]);
    });

    it('leaves the database as it was when a migration fails, naming the file and the error', async () => {
      const { db } = await start({
        ...sandbox.options,
        migrations: await writeMigrations({ '0001_items': ITEMS_SQL }),
      });
      const before = await db.migrations();
      const broken = await writeMigrations({
        '0001_ok': 'CREATE TABLE good_table (id integer PRIMARY KEY)',
        '0002_bad':
          'CREATE TABLE broken_table (id integer PRIMARY KEY)\n--> statement-breakpoint\nINSERT INTO no_such_table (id) VALUES (1)',
      });
      const failure = (await db
        .registerMigrations('extras', { postgres: broken, mysql: broken, sqlite: broken })
        .catch((error: unknown) => error)) as HttpError;
      expect(failure).toBeInstanceOf(HttpError);
      expect(failure.code).toBe('DATABASE_MIGRATION_FAILED');
      expect(failure.message).toContain('0002_bad.sql');
      expect(failure.message).toMatch(/no_such_table|no such table/);

      const recorded = (await db.migrations()).map((m) => `${m.plugin}/${m.name}`);
      expect(recorded).toEqual([...before.map((m) => `${m.plugin}/${m.name}`), 'extras/0001_ok']);
      const tables = await tableNames(db);
      expect(tables).toContain('good_table');
      // MySQL/MariaDB commit DDL implicitly (documented): only there the failed file's table stays.
      expect(tables.includes('broken_table')).toBe(target.provider === 'mysql');
    });

    it('fails start-up on a broken migration, naming the file and the database error', async () => {
      const migrations = await writeMigrations({
        '0001_items': ITEMS_SQL,
        '0002_bad': 'INSERT INTO missing_table (id) VALUES (1)',
      });
      const failure = await startApp({ ...sandbox.options, migrations }).catch(
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(PluginLifecycleError);
      expect((failure as Error).message).toMatch(
        /Plugin "database" failed in onInit: Migration .*0002_bad\.sql \(plugin "app"\) failed: .*missing_table/,
      );
      if (target.provider === 'pglite') return; // in memory: nothing outlives the failed start
      const { db } = await start({
        ...sandbox.options,
        migrations: await writeMigrations({ '0001_items': ITEMS_SQL }),
      });
      expect((await db.migrations()).map((m) => m.name)).toEqual(['0001_items']);
    });

    it('logs statements with their duration at debug, redacting parameters unless asked', async () => {
      const migrations = await writeMigrations({ '0001_items': ITEMS_SQL });
      const redacted = await start(
        { ...sandbox.options, migrations, logQueries: true },
        [],
        'debug',
      );
      await items(redacted.db).insert({ id: 1, name: 'secret-value-123' });
      const line = redacted.logs.lines.find(
        (entry) => entry.msg === 'query' && /insert into ["`]?items/i.test(String(entry.sql)),
      );
      expect(line).toMatchObject({
        level: 'debug',
        durationMs: expect.any(Number),
        params: '[2 redacted]',
      });
      expect(JSON.stringify(redacted.logs.lines)).not.toContain('secret-value-123');
      await redacted.app.stop();
      if (target.provider === 'pglite') return; // a second in-memory instance would not share the table

      const shown = await start(
        { ...sandbox.options, migrations, logQueries: true, logParameters: true },
        [],
        'debug',
      );
      await items(shown.db).insert({ id: 2, name: 'visible-value' });
      expect(
        shown.logs.lines.find(
          (entry) =>
            entry.msg === 'query' && JSON.stringify(entry.params ?? '').includes('visible-value'),
        ),
      ).toBeDefined();
    });
  });
});

async function tableNames(db: Started['db']): Promise<string[]> {
  if (db.is('postgresql')) {
    const result = await db.drizzle.execute(
      sql`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`,
    );
    return result.rows.map((row) => String(row.table_name));
  }
  if (db.is('mysql')) {
    const [rows] = await db.drizzle.execute(
      sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = database()`,
    );
    return (rows as unknown as { name: string }[]).map((row) => row.name);
  }
  if (!db.is('sqlite')) return [];
  return db.drizzle
    .all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'table'`)
    .map((row) => row.name);
}
