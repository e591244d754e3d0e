import { createHash } from 'node:crypto';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { errorMessage } from '../../../core/errors.js';
import {
  drizzleTransaction,
  hostAndPort,
  importDriver,
  type Driver,
  type DriverOptions,
  type Session,
} from '../driver.js';
import { createQueryLog, sqlOf, timed, type QueryLog } from '../query-log.js';

/** The callback-style connection and queues behind mysql2's promise pool (not in its types). */
interface CoreConnection {
  query(sql: string, callback: (error: unknown) => void): void;
  on(event: 'error', listener: (error: unknown) => void): void;
}
interface CorePool {
  on(event: 'connection', listener: (connection: CoreConnection) => void): void;
  _allConnections: { length: number };
  _freeConnections: { length: number };
  _connectionQueue: { length: number };
}

type Runner = {
  query: (...args: unknown[]) => Promise<unknown>;
  execute: (...args: unknown[]) => Promise<unknown>;
};

/** Times `query` and `execute` on a pool or a connection taken from it. */
function logRunner(target: Runner, log: QueryLog): void {
  for (const method of ['query', 'execute'] as const) {
    const original = target[method].bind(target);
    target[method] = (...args: unknown[]) => {
      const params = Array.isArray(args[1]) ? args[1] : (args[0] as { values?: unknown[] })?.values;
      return timed(log, sqlOf(args[0]), params, () => original(...args));
    };
  }
}

/** GET_LOCK names are server-wide and at most 64 characters. */
function lockName(name: string): string {
  return `qwickapps:${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

function sessionOf(connection: PoolConnection, database: string): Session {
  return {
    run: async (sql) => void (await connection.query(sql)),
    rows: async <T>(sql: string, params?: unknown[]) =>
      (await connection.query(sql, params))[0] as T[],
    // DDL commits implicitly in MySQL/MariaDB: only a file's data changes are rolled back.
    atomic: async (fn) => {
      await connection.query('START TRANSACTION');
      try {
        const result = await fn();
        await connection.query('COMMIT');
        return result;
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    lock: async (name, timeout) => {
      const key = lockName(`${database}/${name}`);
      const [rows] = await connection.query('SELECT GET_LOCK(?, ?) AS acquired', [
        key,
        Math.ceil(timeout / 1000),
      ]);
      if ((rows as { acquired: number | null }[])[0]?.acquired !== 1) {
        throw new Error(`another instance held the migration lock for more than ${timeout} ms`);
      }
      return async () => void (await connection.query('SELECT RELEASE_LOCK(?)', [key]));
    },
  };
}

/** mysql2 pool (tested on MariaDB). `pool.min` does not apply: mysql2 opens connections on demand. */
export async function openMysql({ config, logger }: DriverOptions): Promise<Driver> {
  const mysql = await importDriver('mysql2', 'mysql', () => import('mysql2/promise'));
  const { drizzle } = await import('drizzle-orm/mysql2');
  const url = config.url!.replace(/^mariadb:/i, 'mysql:');
  const pool: Pool = (mysql.default ?? mysql).createPool({
    uri: url,
    connectionLimit: config.pool.max,
    maxIdle: Math.max(config.pool.min, 1),
    idleTimeout: config.pool.idleTimeout,
    connectTimeout: config.connectTimeout,
    enableKeepAlive: true,
    waitForConnections: true,
  });
  const core = pool.pool as unknown as CorePool;
  const seconds = config.statementTimeout / 1000;
  core.on('connection', (connection) => {
    // A pooled connection's socket can fail while idle; the pool removes it, we keep it quiet.
    connection.on('error', (error) =>
      logger.debug({ error: errorMessage(error) }, 'database connection lost'),
    );
    if (config.statementTimeout > 0) {
      // MariaDB names it max_statement_time (seconds), MySQL max_execution_time (ms): one of them fails.
      connection.query(`SET SESSION max_statement_time = ${seconds}`, () => undefined);
      connection.query(
        `SET SESSION max_execution_time = ${config.statementTimeout}`,
        () => undefined,
      );
    }
  });
  const log = config.logQueries ? createQueryLog(logger, config.logParameters) : undefined;
  if (log) {
    logRunner(pool as unknown as Runner, log);
    const getConnection = pool.getConnection.bind(pool);
    pool.getConnection = async () => {
      const connection = await getConnection();
      logRunner(connection as unknown as Runner, log);
      return connection;
    };
  }
  let lastAnswer: number | undefined;
  pool.on('release', () => {
    lastAnswer = Date.now();
  });
  // No `mode` key: drizzle's config detection rejects any object that has one.
  const db = drizzle({ client: pool });
  let closed: Promise<void> | undefined;

  return {
    provider: 'mysql',
    dialect: 'mysql',
    drizzle: db,
    target: hostAndPort(url, 3306),
    ping: async () => void (await pool.query('SELECT 1')),
    query: async <T>(sql: string, params?: unknown[]) => (await pool.query(sql, params))[0] as T[],
    lastAnswerAt: () => lastAnswer,
    poolStats: () => {
      const total = core._allConnections.length;
      return {
        total,
        idle: core._freeConnections.length,
        waiting: core._connectionQueue.length,
        max: config.pool.max,
      };
    },
    session: async (fn) => {
      const connection = await pool.getConnection();
      try {
        await connection.query('SET SESSION max_statement_time = 0').catch(() => undefined);
        return await fn(sessionOf(connection, decodeURIComponent(new URL(url).pathname.slice(1))));
      } finally {
        // Discarded, not returned: its session settings and any lock die with it.
        connection.destroy();
      }
    },
    transaction: (fn) => drizzleTransaction(db, fn),
    close: () => (closed ??= pool.end()),
  };
}
