import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App, type ServerPlugin } from '../../../index.js';
import { baseUrl } from '../../../../test/support/http.js';
import { SERVICES, serviceAvailable } from '../../../../test/support/services.js';
import {
  createDatabasePlugin,
  type DatabaseOptions,
  type DatabaseProvider,
} from '../../database/index.js';
import { createUsersPlugin, type UsersOptions } from '../index.js';

/** A table name of this test run alone, so runs against a shared server never clash. */
export const uniqueTable = () => `users_${randomBytes(4).toString('hex')}`;

export interface UsersTarget {
  provider: DatabaseProvider;
  available: boolean;
  /** Database options for one test app; `cleanup` drops what it made. */
  open(table: string): Promise<{ options: DatabaseOptions; cleanup(): Promise<void> }>;
}

/** Drops the plugin's three tables and their migration records on a server. */
async function dropTables(
  query: (sql: string) => Promise<unknown>,
  table: string,
  quote: (name: string) => string,
): Promise<void> {
  for (const name of [table, `${table}_identities`, `${table}_unique`, `${table}_sync`])
    await query(`DROP TABLE IF EXISTS ${quote(name)}`);
  await query(`DELETE FROM qwickapps_migrations WHERE plugin = 'users:${table}'`);
}

const [hasPostgres, hasMysql] = await Promise.all([
  serviceAvailable('postgres'),
  serviceAvailable('mysql'),
]);

/** Every provider; PostgreSQL and MariaDB suites skip (loudly, failing in CI) without a server. */
export const USERS_TARGETS: UsersTarget[] = [
  {
    provider: 'pglite',
    available: true,
    open: async () => ({ options: { url: 'memory://' }, cleanup: async () => undefined }),
  },
  {
    provider: 'sqlite',
    available: true,
    open: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'qwick-users-'));
      return {
        options: { url: `sqlite:${path.join(dir, 'app.db')}` },
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    provider: 'postgres',
    available: hasPostgres,
    open: async (table) => ({
      options: { url: SERVICES.postgres.url },
      cleanup: async () => {
        const { default: pg } = await import('pg');
        const client = new pg.Client({ connectionString: SERVICES.postgres.url });
        await client.connect();
        try {
          await dropTables(
            (sql) => client.query(sql),
            table,
            (name) => `"${name}"`,
          );
        } finally {
          await client.end();
        }
      },
    }),
  },
  {
    provider: 'mysql',
    available: hasMysql,
    open: async (table) => ({
      options: { url: SERVICES.mysql.url },
      cleanup: async () => {
        const mysql = await import('mysql2/promise');
        const connection = await mysql.createConnection({ uri: SERVICES.mysql.url });
        try {
          await dropTables(
            (sql) => connection.query(sql),
            table,
            (name) => `\`${name}\``,
          );
        } finally {
          await connection.end();
        }
      },
    }),
  },
];

/** Starts an app with the database and users plugins (and any others) on a free port. */
export async function startUsersApp(options: {
  database: DatabaseOptions;
  users: UsersOptions;
  plugins?: ServerPlugin<unknown>[];
  port?: number;
}): Promise<{ app: App; url: string }> {
  const app = createApp({
    name: 'users-test',
    port: options.port ?? 0,
    host: '127.0.0.1',
    logger: { level: process.env.USERS_TEST_LOG ? 'debug' : 'silent' },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins: [
      createDatabasePlugin(options.database),
      ...(options.plugins ?? []),
      createUsersPlugin(options.users),
    ],
  });
  await app.start();
  return { app, url: baseUrl(app) };
}

/** A JSON request to the app; the parsed answer beside the response. */
export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
