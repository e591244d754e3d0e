import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { integer as pgInteger, pgTable, varchar as pgVarchar } from 'drizzle-orm/pg-core';
import { int as myInt, mysqlTable, varchar as myVarchar } from 'drizzle-orm/mysql-core';
import { integer as liteInteger, sqliteTable, text as liteText } from 'drizzle-orm/sqlite-core';
import { createApp, type App, type ServerPlugin } from '../../../index.js';
import { captureLogs } from '../../../../test/support/http.js';
import { SERVICES, serviceAvailable } from '../../../../test/support/services.js';
import {
  createDatabasePlugin,
  type Database,
  type DatabaseOptions,
  type DatabaseProvider,
  type DatabaseTransaction,
} from '../index.js';

/** A fresh, isolated place to run one test: its options and how to remove it afterwards. */
export interface Sandbox {
  options: DatabaseOptions;
  /** Tenant ids unique to this sandbox (dropped by cleanup). */
  tenant(name: string): string;
  cleanup(): Promise<void>;
}

export interface Target {
  provider: DatabaseProvider;
  available: boolean;
  sandbox(): Promise<Sandbox>;
}

export const uniqueName = (prefix = 'qa') => `${prefix}_${randomBytes(5).toString('hex')}`;

const created: string[] = [];

/** A temporary directory, removed by `removeTempDirs()`. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qwick-db-'));
  created.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

async function postgresAdmin<T>(
  fn: (query: (sql: string) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: SERVICES.postgres.url });
  await client.connect();
  try {
    return await fn((sql) => client.query(sql));
  } finally {
    await client.end();
  }
}

export async function mysqlAdmin<T>(
  fn: (query: (sql: string) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: SERVICES.mysql.url });
  try {
    return await fn((sql) => connection.query(sql));
  } finally {
    await connection.end();
  }
}

const [hasPostgres, hasMysql] = await Promise.all([
  serviceAvailable('postgres'),
  serviceAvailable('mysql'),
]);

/** Every provider; server-backed ones are unavailable (their suites skip) when the server is down. */
export const TARGETS: Target[] = [
  {
    provider: 'pglite',
    available: true,
    sandbox: async () => ({
      options: { provider: 'pglite', url: 'memory://' },
      tenant: (name) => name,
      cleanup: async () => undefined,
    }),
  },
  {
    provider: 'sqlite',
    available: true,
    sandbox: async () => {
      const dir = await tempDir();
      return {
        options: { url: `sqlite:${path.join(dir, 'app.db')}` },
        tenant: (name) => name,
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    provider: 'postgres',
    available: hasPostgres,
    sandbox: async () => {
      const schema = uniqueName();
      const tenantPrefix = uniqueName('qt');
      return {
        options: { url: SERVICES.postgres.url, schema },
        tenant: (name) => `${tenantPrefix}_${name}`,
        cleanup: () =>
          postgresAdmin(async (query) => {
            const { rows } = (await query(
              `SELECT nspname FROM pg_namespace WHERE nspname = '${schema}' OR nspname LIKE 'tenant_${tenantPrefix}%'`,
            )) as { rows: { nspname: string }[] };
            for (const { nspname } of rows) await query(`DROP SCHEMA "${nspname}" CASCADE`);
          }),
      };
    },
  },
  {
    provider: 'mysql',
    available: hasMysql,
    sandbox: async () => {
      const database = uniqueName();
      await mysqlAdmin((query) => query(`CREATE DATABASE \`${database}\``));
      const url = new URL(SERVICES.mysql.url);
      url.pathname = `/${database}`;
      return {
        options: { url: url.toString() },
        tenant: (name) => name,
        cleanup: async () =>
          void (await mysqlAdmin((query) => query(`DROP DATABASE IF EXISTS \`${database}\``))),
      };
    },
  },
];

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
