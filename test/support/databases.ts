import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseOptions, DatabaseProvider } from '../../src/plugins/database/index.js';
import { SERVICES, serviceAvailable } from './services.js';

/**
 * A sandbox per database provider, for plugins' tests that need a database of their own on each
 * (fixed table names included): PGlite in memory, a SQLite file, a PostgreSQL schema, a MariaDB
 * database, each dropped by `cleanup`. Server-backed targets are unavailable when the server is.
 */

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
