import { mkdirSync } from 'node:fs';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { embeddedLocation } from '../options.js';
import {
  drizzleTransaction,
  importDriver,
  type Driver,
  type DriverOptions,
  type Session,
} from '../driver.js';
import { createQueryLog, timed, type QueryLog } from '../query-log.js';
import { checkChannel } from './listen.js';

type Queryable = Pick<Transaction, 'query' | 'exec'>;

/** The same queryable, with each statement timed. */
function logged<T extends Queryable>(
  target: T,
  log: QueryLog | undefined,
): Queryable & Partial<Pick<Transaction, 'rollback'>> {
  if (!log) return target;
  return {
    query: (sql, params, options) =>
      timed(log, sql, params, () => target.query(sql, params, options)),
    exec: (sql, options) => timed(log, sql, undefined, () => target.exec(sql, options)),
    rollback: () => (target as Partial<Transaction>).rollback?.() ?? Promise.resolve(),
  } as Queryable;
}

/**
 * What drizzle is given. PGlite has one connection, so a schema binding cannot live on the
 * connection: each statement runs in its own short transaction that sets search_path locally.
 */
function clientFor(base: PGlite, schema: string | undefined, log: QueryLog | undefined): PGlite {
  if (!schema && !log) return base;
  const enter = async (tx: Transaction) => {
    if (schema) await tx.exec(`SET LOCAL search_path TO "${schema}"`);
    return logged(tx, log) as Transaction;
  };
  const client = {
    query: (sql: string, params?: unknown[], options?: object) =>
      schema
        ? base.transaction(async (tx) => (await enter(tx)).query(sql, params, options))
        : logged(base, log).query(sql, params, options),
    exec: (sql: string, options?: object) =>
      schema
        ? base.transaction(async (tx) => (await enter(tx)).exec(sql, options))
        : logged(base, log).exec(sql, options),
    transaction: <T>(fn: (tx: Transaction) => Promise<T>) =>
      base.transaction(async (tx) => fn(await enter(tx))),
  };
  return client as unknown as PGlite;
}

function sessionOf(tx: Queryable): Session {
  let savepoints = 0;
  return {
    run: async (sql) => void (await tx.exec(sql)),
    rows: async <T>(sql: string, params?: unknown[]) => (await tx.query<T>(sql, params)).rows,
    // The session is already one PGlite transaction; each atomic step is a savepoint in it.
    atomic: async (fn) => {
      const name = `migration_${++savepoints}`;
      await tx.exec(`SAVEPOINT ${name}`);
      try {
        const result = await fn();
        await tx.exec(`RELEASE SAVEPOINT ${name}`);
        return result;
      } catch (error) {
        await tx.exec(`ROLLBACK TO SAVEPOINT ${name}`);
        throw error;
      }
    },
    // One process owns a PGlite data directory, and a session holds the instance exclusively.
    lock: async () => async () => undefined,
  };
}

function driverFor(
  base: PGlite,
  options: DriverOptions,
  schema: string | undefined,
  drizzleFactory: (client: PGlite) => unknown,
  owner: boolean,
): Driver {
  const log = options.config.logQueries
    ? createQueryLog(options.logger, options.config.logParameters)
    : undefined;
  const client = clientFor(base, schema, log);
  const db = drizzleFactory(client) as object;
  const location = embeddedLocation(options.config.url);
  return {
    provider: 'pglite',
    dialect: 'postgresql',
    drizzle: db,
    target: location ?? 'memory',
    schema,
    ping: async () => void (await base.query('SELECT 1')),
    query: async <T>(sql: string, params?: unknown[]) => (await client.query<T>(sql, params)).rows,
    poolStats: () => ({ total: 1, idle: 1, waiting: 0, max: 1 }),
    session: async (fn) => {
      // Keep what earlier steps committed when a later one fails (its savepoint is rolled back).
      let failure: { error: unknown } | undefined;
      const result = await base.transaction(async (tx) => {
        if (schema) await tx.exec(`SET LOCAL search_path TO "${schema}"`);
        try {
          return await fn(sessionOf(logged(tx, log)));
        } catch (error) {
          failure = { error };
          return undefined;
        }
      });
      if (failure) throw failure.error;
      return result as Awaited<ReturnType<typeof fn>>;
    },
    transaction: (fn) => drizzleTransaction(db, fn),
    forSchema: async (other) => driverFor(base, options, other, drizzleFactory, false),
    // One process owns a PGlite database, so its notifications are this process's own.
    listen: async (channel, handlers) => {
      checkChannel(channel);
      const stop = await base.listen(channel, (payload) => handlers.onNotify(payload));
      return async () => {
        if (!base.closed) await stop();
      };
    },
    close: async () => {
      if (owner && !base.closed) await base.close();
    },
  };
}

/** Embedded PostgreSQL (WASM): a data directory, or in memory. */
export async function openPglite(options: DriverOptions): Promise<Driver> {
  const { PGlite } = await importDriver(
    '@electric-sql/pglite',
    'pglite',
    () => import('@electric-sql/pglite'),
  );
  const { drizzle } = await import('drizzle-orm/pglite');
  const location = embeddedLocation(options.config.url);
  if (location) mkdirSync(location, { recursive: true });
  const base = await PGlite.create(location);
  return driverFor(base, options, options.config.schema, (client) => drizzle({ client }), true);
}
