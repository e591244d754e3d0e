import type { Logger } from 'pino';
import { ConfigError } from '../../core/errors.js';
import type { DatabaseConfig } from './options.js';
import type {
  DatabaseDialect,
  DatabaseProvider,
  LockHandlers,
  NotificationHandlers,
  PoolStats,
} from './types.js';

/** One connection held exclusively (migrations), with raw SQL. */
export interface Session {
  /** Runs SQL whose result is not wanted. */
  run(sql: string): Promise<void>;
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` atomically where the dialect allows (see migrations.ts for MySQL); rolls back on throw. */
  atomic<T>(fn: () => Promise<T>): Promise<T>;
  /** Holds a lock named `key` across instances until the returned release is called. */
  lock(key: string, timeout: number): Promise<() => Promise<void>>;
}

/** A drizzle transaction and how to open a savepoint in it. */
export interface TransactionHandle {
  drizzle: unknown;
  savepoint<T>(fn: (tx: TransactionHandle) => Promise<T>): Promise<T>;
}

/** What each provider supplies; the Database service is built on it (database.ts). */
export interface Driver {
  readonly provider: DatabaseProvider;
  readonly dialect: DatabaseDialect;
  readonly drizzle: unknown;
  /** Where it connects, for error messages: `host:port`, a path or `memory`. */
  readonly target: string;
  /** The PostgreSQL schema it is bound to, if any. */
  readonly schema?: string;
  ping(): Promise<void>;
  /** A statement on any pooled connection. */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  poolStats(): PoolStats;
  /** When a pooled connection last came back without error (pooled providers only). */
  lastAnswerAt?(): number | undefined;
  session<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  transaction<T>(fn: (tx: TransactionHandle) => Promise<T>): Promise<T>;
  /** A driver bound to another schema (PostgreSQL and PGlite only). */
  forSchema?(schema: string): Promise<Driver>;
  /** LISTEN on a channel (PostgreSQL and PGlite); see `Database.listen`. */
  listen?(channel: string, handlers: NotificationHandlers): Promise<() => Promise<void>>;
  /** A session advisory lock on a connection of its own (PostgreSQL); see `Database.holdLock`. */
  holdLock?(
    name: string,
    handlers: LockHandlers,
    retryInterval: number,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DriverOptions {
  config: DatabaseConfig;
  logger: Logger;
}

/** Drizzle's own transaction, for drivers whose drizzle transactions are asynchronous. */
export function drizzleTransaction<T>(
  db: object,
  fn: (tx: TransactionHandle) => Promise<T>,
): Promise<T> {
  type Nestable = { transaction<R>(fn: (tx: Nestable) => Promise<R>): Promise<R> };
  const handle = (tx: Nestable): TransactionHandle => ({
    drizzle: tx,
    savepoint: (inner) => tx.transaction((nested) => inner(handle(nested))),
  });
  return (db as Nestable).transaction((tx) => fn(handle(tx)));
}

/**
 * Drivers are optional dependencies: users install the one they use. A missing one fails
 * start-up saying what to install.
 */
export async function importDriver<T>(
  specifier: string,
  provider: DatabaseProvider,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      const name = specifier.split('/')[0];
      // What to install is a configuration problem of the app, found at start-up, not a 500.
      throw Object.assign(
        new ConfigError([
          {
            name: 'plugins.database.url',
            received: `provider "${provider}" without its driver`,
            expected: `the ${name} package installed to use provider ${provider} (npm install ${name})`,
          },
        ]),
        { cause: error },
      );
    }
    throw error;
  }
}

/** `host:port` of a server URL, with the provider's default port. */
export function hostAndPort(url: string, defaultPort: number): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || defaultPort}`;
}

/** Double-quotes an identifier already validated as [a-z0-9_]. */
export function quoteIdentifier(name: string, dialect: DatabaseDialect): string {
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}
