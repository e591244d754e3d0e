import type { Pool, PoolClient } from 'pg';
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
import { listenPostgres } from './listen.js';
import { advisoryKey, holdPostgresLock } from './lock.js';

export { advisoryKey };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Times every statement a pooled client runs (promise and callback forms alike). */
function logClientQueries(client: PoolClient, log: QueryLog): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (
    ...args: unknown[]
  ) => {
    const [query, values] = args;
    if (typeof (query as { submit?: unknown })?.submit === 'function') return original(...args);
    const sql = sqlOf(query);
    const params = Array.isArray(values) ? values : (query as { values?: unknown[] })?.values;
    const callbackAt = args.findIndex((arg) => typeof arg === 'function');
    if (callbackAt === -1) return timed(log, sql, params, () => original(...args));
    const callback = args[callbackAt] as (error: unknown, result: unknown) => void;
    const started = performance.now();
    args[callbackAt] = (error: unknown, result: unknown) => {
      log(sql, params, performance.now() - started, error ?? undefined);
      callback(error, result);
    };
    return original(...args);
  };
}

function sessionOf(client: PoolClient): Session {
  return {
    run: async (sql) => void (await client.query(sql)),
    rows: async <T>(sql: string, params?: unknown[]) =>
      (await client.query(sql, params)).rows as T[],
    atomic: async (fn) => {
      await client.query('BEGIN');
      try {
        const result = await fn();
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    lock: async (name, timeout) => {
      const key = advisoryKey(name);
      const deadline = Date.now() + timeout;
      // pg_try_advisory_lock in a loop keeps the wait bounded by our own timeout option.
      while (
        !(
          await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
            key,
          ])
        ).rows[0].ok
      ) {
        if (Date.now() > deadline)
          throw new Error(`another instance held the migration lock for more than ${timeout} ms`);
        await sleep(100);
      }
      return async () => void (await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]));
    },
  };
}

/** node-postgres pool; one pool per schema (the schema is the connection's search_path). */
export async function openPostgres(
  { config, logger }: DriverOptions,
  schema = config.schema,
  max = config.pool.max,
): Promise<Driver> {
  const pg = await importDriver('pg', 'postgres', () => import('pg'));
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const url = config.url!;
  const pool: Pool = new (pg.default ?? pg).Pool({
    connectionString: url,
    min: Math.min(config.pool.min, max),
    max,
    idleTimeoutMillis: config.pool.idleTimeout,
    connectionTimeoutMillis: config.connectTimeout,
    statement_timeout: config.statementTimeout || undefined,
    keepAlive: true,
    options: schema ? `-c search_path=${schema}` : undefined,
  });
  const log = config.logQueries ? createQueryLog(logger, config.logParameters) : undefined;
  // An idle client whose server went away emits 'error' on the pool; without a listener that
  // would crash the process. The pool drops the client and opens a fresh one on next use.
  pool.on('error', (error) =>
    logger.warn({ error: errorMessage(error) }, 'idle database connection lost'),
  );
  pool.on('connect', (client) => {
    // A checked-out client has no pool listener; keep its errors from becoming uncaught too.
    client.on('error', (error) =>
      logger.debug({ error: errorMessage(error) }, 'database connection lost while in use'),
    );
    if (log) logClientQueries(client, log);
  });
  let lastAnswer: number | undefined;
  pool.on('release', (error) => {
    if (!error) lastAnswer = Date.now();
  });
  const db = drizzle({ client: pool });
  let closed: Promise<void> | undefined;
  const listeners = new Set<() => Promise<void>>();

  return {
    provider: 'postgres',
    dialect: 'postgresql',
    drizzle: db,
    target: hostAndPort(url, 5432),
    schema,
    ping: async () => void (await pool.query('SELECT 1')),
    query: async <T>(sql: string, params?: unknown[]) =>
      (await pool.query(sql, params)).rows as T[],
    lastAnswerAt: () => lastAnswer,
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max,
    }),
    session: async (fn) => {
      const client = await pool.connect();
      try {
        // Migrations may legitimately run longer than the per-statement limit.
        await client.query('SET statement_timeout = 0');
        return await fn(sessionOf(client));
      } finally {
        // Discarded, not returned: its settings and any lock die with it.
        client.release(true);
      }
    },
    transaction: (fn) => drizzleTransaction(db, fn),
    forSchema: (other) => openPostgres({ config, logger }, other, config.tenantPoolMax),
    listen: async (channel, handlers) => {
      const stop = await listenPostgres(
        (pg.default ?? pg).Client,
        config,
        logger,
        channel,
        handlers,
      );
      const remove = async () => {
        listeners.delete(remove);
        await stop();
      };
      listeners.add(remove);
      return remove;
    },
    holdLock: async (name, handlers, retryInterval) => {
      const stop = await holdPostgresLock(
        (pg.default ?? pg).Client,
        config,
        logger,
        name,
        handlers,
        retryInterval,
      );
      const remove = async () => {
        listeners.delete(remove);
        await stop();
      };
      listeners.add(remove);
      return remove;
    },
    close: () =>
      (closed ??= Promise.all([...listeners].map((stop) => stop())).then(() => pool.end())),
  };
}
