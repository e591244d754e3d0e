import { sql } from 'drizzle-orm';
import { writeFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import {
  ITEMS_SQL,
  TARGETS,
  items,
  removeTempDirs,
  startApp,
  tempDir,
  writeMigrations,
  type Sandbox,
  type Started,
} from './test-support/targets.js';

afterAll(removeTempDirs);
const postgres = TARGETS.find((target) => target.provider === 'postgres')!;
const mysql = TARGETS.find((target) => target.provider === 'mysql')!;

const apps: App[] = [];
const sandboxes: Sandbox[] = [];
const dirs: string[] = [];
const start = async (...args: Parameters<typeof startApp>): Promise<Started> => {
  const started = await startApp(...args);
  apps.push(started.app);
  return started;
};
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe.each([postgres, mysql])('two instances starting together on $provider', (target) => {
  it.skipIf(!target.available)(
    'apply each migration exactly once (the migration lock)',
    async () => {
      const sandbox = await target.sandbox();
      sandboxes.push(sandbox);
      // The slow first file widens the window in which both starters would race without a lock;
      // the non-idempotent CREATE and INSERT would fail or duplicate if applied twice.
      const slow = target.provider === 'postgres' ? 'SELECT pg_sleep(0.5)' : 'SELECT SLEEP(0.5)';
      const migrations = await writeMigrations({
        '0001_items': `${slow}\n--> statement-breakpoint\n${ITEMS_SQL}`,
        '0002_seed': "INSERT INTO items (id, name) VALUES (1, 'only once')",
      });
      const [first, second] = await Promise.all([
        start({ ...sandbox.options, migrations }),
        start({ ...sandbox.options, migrations }),
      ]);
      expect(await items(first.db).all()).toEqual([{ id: 1, name: 'only once' }]);
      expect((await second.db.migrations()).map((m) => m.name)).toEqual([
        '0001_items',
        '0002_seed',
      ]);
      const applied = [...first.logs.lines, ...second.logs.lines].filter(
        (line) => line.msg === 'migration applied',
      );
      expect(applied.map((line) => line.migration).sort()).toEqual(['0001_items', '0002_seed']);
    },
  );
});

describe('migration sources', () => {
  it('tracks each plugin’s migrations separately, even with the same file names', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const app = await writeMigrations({ '0001_init': ITEMS_SQL }, path.join(dir, 'app'));
    const users = await writeMigrations(
      { '0001_init': 'CREATE TABLE users (id integer PRIMARY KEY)' },
      path.join(dir, 'users'),
    );
    const { db } = await start({ url: `sqlite:${path.join(dir, 'app.db')}`, migrations: app });
    const applied = await db.registerMigrations('users', {
      sqlite: users,
      postgres: path.join(dir, 'nowhere'),
    });
    expect(applied.map((m) => `${m.plugin}/${m.name}`)).toEqual(['users/0001_init']);
    expect((await db.migrations()).map((m) => `${m.plugin}/${m.name}`).sort()).toEqual([
      'app/0001_init',
      'users/0001_init',
    ]);
    // Registering again applies nothing new.
    expect(await db.registerMigrations('users', { sqlite: users })).toEqual([]);
  });

  it('follows drizzle-kit’s journal order when meta/_journal.json exists', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const folder = await writeMigrations(
      {
        '0000_seed': "INSERT INTO items (id, name) VALUES (7, 'journal')",
        '0001_items': ITEMS_SQL,
      },
      path.join(dir, 'drizzle'),
    );
    await mkdir(path.join(folder, 'meta'));
    const journal = {
      version: '7',
      dialect: 'sqlite',
      entries: [
        { idx: 0, tag: '0001_items' },
        { idx: 1, tag: '0000_seed' },
      ],
    };
    await writeFile(path.join(folder, 'meta', '_journal.json'), JSON.stringify(journal));
    const { db } = await start({ url: `sqlite:${path.join(dir, 'app.db')}`, migrations: folder });
    expect(await items(db).all()).toEqual([{ id: 7, name: 'journal' }]);
  });

  it('keeps PGlite data in its directory across restarts without re-applying migrations', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const migrations = await writeMigrations(
      { '0001_items': ITEMS_SQL },
      path.join(dir, 'migrations'),
    );
    const options = { url: `pglite:${path.join(dir, 'data')}`, migrations };
    const first = await start(options);
    expect(first.db.provider).toBe('pglite');
    await items(first.db).insert({ id: 1, name: 'persisted' });
    const appliedAt = (await first.db.migrations())[0].appliedAt;
    await first.app.stop();

    const second = await start(options);
    expect(await items(second.db).all()).toEqual([{ id: 1, name: 'persisted' }]);
    expect((await second.db.migrations()).map((m) => m.appliedAt)).toEqual([appliedAt]);
    expect(second.logs.lines.some((line) => line.msg === 'migration applied')).toBe(false);
  });
});

describe('migrations given in code', () => {
  it('apply like the folder of the same files, with the same recorded hash, in name order', async () => {
    const sandbox = await TARGETS.find((target) => target.provider === 'sqlite')!.sandbox();
    sandboxes.push(sandbox);
    const statements = [ITEMS_SQL, "INSERT INTO items (id, name) VALUES (1, 'from code')"];
    const folder = await writeMigrations({
      '0001_items': statements.join('\n--> statement-breakpoint\n'),
    });
    const fromFolder = await start({ ...sandbox.options });
    await fromFolder.db.registerMigrations('inline-test', { sqlite: folder });
    const [recorded] = (await fromFolder.db.migrations()).filter(
      (migration) => migration.plugin === 'inline-test',
    );
    await fromFolder.app.stop();

    const fromCode = await start({ ...sandbox.options });
    // Same file, now in code: already applied, so nothing runs again (the INSERT would fail).
    expect(
      await fromCode.db.registerMigrations('inline-test', {
        sqlite: [
          { name: '0002_more', statements: ["INSERT INTO items (id, name) VALUES (2, 'later')"] },
          { name: '0001_items', statements },
        ],
      }),
    ).toMatchObject([{ plugin: 'inline-test', name: '0002_more' }]);
    const [again] = (await fromCode.db.migrations()).filter(
      (migration) => migration.name === '0001_items' && migration.plugin === 'inline-test',
    );
    expect(again.hash).toBe(recorded.hash);
    expect(await fromCode.db.rows(sql`SELECT id, name FROM items ORDER BY id`)).toEqual([
      { id: 1, name: 'from code' },
      { id: 2, name: 'later' },
    ]);
  });
});
