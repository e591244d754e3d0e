import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { integer as pgInteger, pgTable, varchar as pgVarchar } from 'drizzle-orm/pg-core';
import { int as myInt, mysqlTable, varchar as myVarchar } from 'drizzle-orm/mysql-core';
import { integer as liteInteger, sqliteTable, text as liteText } from 'drizzle-orm/sqlite-core';
import { createApp, type App, type ServerPlugin } from '../../../index.js';
import { captureLogs } from '../../../../test/support/http.js';
import { tempDir } from '../../../../test/support/databases.js';
export {
  TARGETS,
  mysqlAdmin,
  removeTempDirs,
  tempDir,
  uniqueName,
  type Sandbox,
  type Target,
} from '../../../../test/support/databases.js';
import {
  createDatabasePlugin,
  type Database,
  type DatabaseOptions,
  type DatabaseTransaction,
} from '../index.js';

/** Writes a migrations folder: `{ '0001_items': 'CREATE TABLE ...' }`. */
export async function writeMigrations(
  files: Record<string, string>,
  dir?: string,
): Promise<string> {
  const folder = dir ?? (await tempDir());
  await mkdir(folder, { recursive: true });
  for (const [name, sql] of Object.entries(files))
    await writeFile(path.join(folder, `${name}.sql`), sql);
  return folder;
}

export const ITEMS_SQL = 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(100) NOT NULL)';

/** A probe answering like a readiness endpoint, from the core's readiness state. */
export const readinessProbe: ServerPlugin = {
  name: 'probe',
  routes: [
    {
      method: 'get',
      path: '/ready',
      handler: (req, res) =>
        void res.status(req.context.isReady() ? 200 : 503).json({ ready: req.context.isReady() }),
    },
  ],
};

export interface Started {
  app: App;
  db: Database;
  logs: ReturnType<typeof captureLogs>;
}

/** Starts an app with the database plugin (and any extra plugins) on a free port. */
export async function startApp(
  options: DatabaseOptions,
  extra: ServerPlugin[] = [],
  level: 'silent' | 'debug' | 'info' = 'info',
): Promise<Started> {
  const logs = captureLogs();
  const app = createApp({
    name: 'db-test',
    port: 0,
    host: '127.0.0.1',
    logger: { destination: logs.stream, level, stdout: false },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins: [createDatabasePlugin(options), readinessProbe, ...extra],
  });
  await app.start();
  return { app, db: app.context.services.get('database'), logs };
}

export interface Item {
  id: number;
  name: string;
}

/** CRUD on the `items` table through drizzle's query builder, in each dialect. */
export function items(db: DatabaseTransaction) {
  if (db.is('postgresql')) {
    const table = pgTable('items', {
      id: pgInteger('id').primaryKey(),
      name: pgVarchar('name', { length: 100 }).notNull(),
    });
    const d = db.drizzle;
    return {
      insert: async (item: Item) => void (await d.insert(table).values(item)),
      all: async (): Promise<Item[]> => d.select().from(table).orderBy(table.id),
      rename: async (id: number, name: string) =>
        void (await d.update(table).set({ name }).where(eq(table.id, id))),
      remove: async (id: number) => void (await d.delete(table).where(eq(table.id, id))),
    };
  }
  if (db.is('mysql')) {
    const table = mysqlTable('items', {
      id: myInt('id').primaryKey(),
      name: myVarchar('name', { length: 100 }).notNull(),
    });
    const d = db.drizzle;
    return {
      insert: async (item: Item) => void (await d.insert(table).values(item)),
      all: async (): Promise<Item[]> => d.select().from(table).orderBy(table.id),
      rename: async (id: number, name: string) =>
        void (await d.update(table).set({ name }).where(eq(table.id, id))),
      remove: async (id: number) => void (await d.delete(table).where(eq(table.id, id))),
    };
  }
  if (!db.is('sqlite')) throw new Error(`unknown dialect ${db.dialect}`);
  const table = sqliteTable('items', {
    id: liteInteger('id').primaryKey(),
    name: liteText('name').notNull(),
  });
  const d = db.drizzle;
  return {
    insert: async (item: Item) => void d.insert(table).values(item).run(),
    all: async (): Promise<Item[]> => d.select().from(table).orderBy(table.id).all(),
    rename: async (id: number, name: string) =>
      void d.update(table).set({ name }).where(eq(table.id, id)).run(),
    remove: async (id: number) => void d.delete(table).where(eq(table.id, id)).run(),
  };
}
