import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { embeddedLocation } from '../options.js';
import {
  importDriver,
  type Driver,
  type DriverOptions,
  type Session,
  type TransactionHandle,
} from '../driver.js';
import { createQueryLog, timed, type QueryLog } from '../query-log.js';

type Statement = BetterSqlite3.Statement;

/** Statements whose run/all/get/iterate are timed; mode switches (raw, pluck) keep the wrapper. */
function loggedStatement(statement: Statement, log: QueryLog): Statement {
  const proxy: Statement = new Proxy(statement, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (
        property === 'run' ||
        property === 'all' ||
        property === 'get' ||
        property === 'iterate'
      ) {
        return (...params: unknown[]) =>
          timed(log, target.source, params, () =>
            (value as (...a: unknown[]) => unknown).apply(target, params),
          );
      }
      if (
        property === 'raw' ||
        property === 'pluck' ||
        property === 'expand' ||
        property === 'safeIntegers'
      ) {
        return (...args: unknown[]) => {
          (value as (...a: unknown[]) => unknown).apply(target, args);
          return proxy;
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return proxy;
}

/** Serialises transactions: better-sqlite3 has one connection and is synchronous. */
function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

async function inTransaction<T>(
  client: BetterSqlite3.Database,
  begin: string,
  end: string,
  undo: string,
  fn: () => Promise<T>,
): Promise<T> {
  client.exec(begin);
  try {
    const result = await fn();
    client.exec(end);
    return result;
  } catch (error) {
    if (client.inTransaction) client.exec(undo);
    throw error;
  }
}

/**
 * better-sqlite3 (12). Drizzle's own SQLite transactions are synchronous; ours take an async
 * callback, so they are serialised, and a statement issued outside the callback while one is
 * open joins it (one connection). Keep transactions short.
 */
export async function openSqlite({ config, logger }: DriverOptions): Promise<Driver> {
  const { default: Sqlite } = await importDriver(
    'better-sqlite3',
    'sqlite',
    () => import('better-sqlite3'),
  );
  const { drizzle } = await import('drizzle-orm/better-sqlite3');
  const location = embeddedLocation(config.url);
  if (location) mkdirSync(path.dirname(path.resolve(location)), { recursive: true });
  const client = new Sqlite(location ?? ':memory:', { timeout: config.statementTimeout || 5_000 });
  if (location) client.pragma('journal_mode = WAL');
  client.pragma('foreign_keys = ON');
  const log = config.logQueries ? createQueryLog(logger, config.logParameters) : undefined;
  if (log) {
    const prepare = client.prepare.bind(client);
    client.prepare = ((source: string) =>
      loggedStatement(prepare(source), log)) as typeof client.prepare;
  }
  const db = drizzle({ client });
  const exclusive = createMutex();
  let savepoints = 0;

  const handle: TransactionHandle = {
    drizzle: db,
    savepoint: (fn) => {
      const name = `sp${++savepoints}`;
      return inTransaction(
        client,
        `SAVEPOINT ${name}`,
        `RELEASE ${name}`,
        `ROLLBACK TO ${name}; RELEASE ${name}`,
        () => fn(handle),
      );
    },
  };
  const session: Session = {
    run: async (sql) => void client.exec(sql),
    rows: async <T>(sql: string, params: unknown[] = []) => {
      const statement = client.prepare(sql);
      return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
    },
    // IMMEDIATE takes the write lock first, so another process cannot apply the same file.
    atomic: (fn) => inTransaction(client, 'BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK', fn),
    lock: async () => async () => undefined,
  };

  return {
    provider: 'sqlite',
    dialect: 'sqlite',
    drizzle: db,
    target: location ?? 'memory',
    ping: async () => void client.prepare('SELECT 1').get(),
    query: (sql, params) => session.rows(sql, params),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0, max: 1 }),
    session: (fn) => exclusive(() => fn(session)),
    transaction: (fn) =>
      exclusive(() => inTransaction(client, 'BEGIN', 'COMMIT', 'ROLLBACK', () => fn(handle))),
    close: async () => {
      if (client.open) client.close();
    },
  };
}
