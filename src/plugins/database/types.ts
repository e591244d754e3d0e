import type { Assume, SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { MySql2Database } from 'drizzle-orm/mysql2';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';

export type DatabaseProvider = 'pglite' | 'postgres' | 'mysql' | 'sqlite';

/** The SQL dialect, named as drizzle-kit names it. PGlite speaks `postgresql`. */
export type DatabaseDialect = 'postgresql' | 'mysql' | 'sqlite';

type RowsOf<Row> = { rows: Assume<Row, Record<string, unknown>>[] };

/** What `execute()` resolves to on PostgreSQL and PGlite alike: at least the rows. */
export interface PostgresQueryResultHKT extends PgQueryResultHKT {
  type: RowsOf<this['row']>;
}

/** The drizzle instance for each dialect (PGlite and node-postgres share the pg-core API). */
export interface DrizzleByDialect {
  postgresql: PgDatabase<PostgresQueryResultHKT>;
  mysql: MySql2Database;
  sqlite: BetterSQLite3Database;
}

export type DrizzleOf<D extends DatabaseDialect> = DrizzleByDialect[D];

/** Connections of the pool. Embedded providers have a single connection. */
export interface PoolStats {
  total: number;
  idle: number;
  /** Callers queued for a connection. */
  waiting: number;
  max: number;
}

/**
 * A migration given in code rather than as a file: what a `NNNN_name.sql` file would hold. A
 * plugin whose table name is an option writes its DDL from templates this way.
 */
export interface InlineMigration {
  /** As the file would be named, without `.sql` (`0001_users`); applied in name order. */
  name: string;
  /** The statements, in order (each one statement; see the MySQL note on DDL). */
  statements: readonly string[];
}

/** Where one dialect's migrations are: a folder (a path or a `file:` URL) or the migrations. */
export type MigrationSource = string | URL | readonly InlineMigration[];

/** Migrations per dialect; PGlite uses `postgres`. */
export interface MigrationFolders {
  postgres?: MigrationSource;
  mysql?: MigrationSource;
  sqlite?: MigrationSource;
}

/** A migration recorded as applied. */
export interface MigrationRecord {
  /** The plugin that shipped it (`app` for the `migrations` option). */
  plugin: string;
  /** The file name without `.sql`, e.g. `0001_users`. */
  name: string;
  hash: string;
  appliedAt: string;
}

/** Raw SQL on any dialect, for plugins whose tables drizzle's typed builders do not describe. */
export interface SqlRunner {
  /** The rows a query answers (`sql\`SELECT ...\``), whatever the dialect. */
  rows<Row = Record<string, unknown>>(query: SQL): Promise<Row[]>;
  /** Runs a statement whose result is not wanted. */
  run(query: SQL): Promise<void>;
}

/** What a transaction callback receives: the same surface, bound to the open transaction. */
export interface DatabaseTransaction<
  D extends DatabaseDialect = DatabaseDialect,
> extends SqlRunner {
  readonly dialect: D;
  /** Drizzle bound to this transaction; queries through it commit or roll back together. */
  readonly drizzle: DrizzleOf<D>;
  /** A nested transaction: a savepoint, rolled back alone when `fn` throws. */
  transaction<T>(fn: (tx: DatabaseTransaction<D>) => Promise<T>): Promise<T>;
  is<E extends DatabaseDialect>(dialect: E): this is DatabaseTransaction<E>;
}

/**
 * The `database` service: drizzle plus what a product needs around it.
 * @example
 * const db = ctx.get('database');
 * if (db.is('postgresql')) await db.drizzle.select().from(users);
 * await db.transaction(async (tx) => { ... });
 */
export interface Database<D extends DatabaseDialect = DatabaseDialect> extends SqlRunner {
  readonly provider: DatabaseProvider;
  readonly dialect: D;
  /** The PostgreSQL schema this handle is bound to (search_path), when there is one. */
  readonly schema?: string;
  readonly drizzle: DrizzleOf<D>;
  /** Narrows the dialect so `drizzle` gets its precise type. */
  is<E extends DatabaseDialect>(dialect: E): this is Database<E>;
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. A call
   * made inside another transaction (on `tx` or on this database) becomes a savepoint.
   */
  transaction<T>(fn: (tx: DatabaseTransaction<D>) => Promise<T>): Promise<T>;
  /** A trivial query; rejects when the database does not answer within `timeout` ms. */
  ping(timeout?: number): Promise<void>;
  poolStats(): PoolStats;
  /** Applies every registered migration not yet applied; returns the ones applied now. */
  migrate(): Promise<MigrationRecord[]>;
  /** The migrations recorded as applied, oldest first. */
  migrations(): Promise<MigrationRecord[]>;
  /**
   * Registers a plugin's migrations (tracked under its name) and applies them now, to the main
   * schema and every tenant schema already open.
   */
  registerMigrations(plugin: string, folders: MigrationFolders): Promise<MigrationRecord[]>;
  /**
   * A database bound to the schema `tenant_<id>` (PostgreSQL and PGlite), created and migrated
   * on first use. Ids must match /^[a-z0-9_]{1,48}$/.
   */
  forTenant(id: string): Promise<Database<D>>;
  /**
   * PostgreSQL and PGlite (undefined on MySQL and SQLite): calls `onNotify` with the payload of
   * every `NOTIFY` on `channel` (a lower-case name of a-z, 0-9 and _), from any instance, once
   * committed. PostgreSQL listens on a connection of its own, outside the pool; when that
   * connection is lost it reconnects and calls `onReconnect`, since notifications sent meanwhile
   * are gone. Resolves once listening; the function it resolves to stops.
   */
  listen?(channel: string, handlers: NotificationHandlers): Promise<() => Promise<void>>;
  /**
   * PostgreSQL only (undefined elsewhere): competes for the session advisory lock `name` across
   * instances, on a connection of its own outside the pool, so that one instance at a time does
   * something (drives an orchestrator, say). `onAcquired` is called once this instance holds it;
   * `onLost` when the connection holding it is lost (the server then frees it for another
   * instance). While not holding it, it tries again every `retryInterval` ms (default 1 000);
   * while holding it, it checks the connection as often. Resolves after the first attempt (it
   * rejects when the server cannot be reached); the function it resolves to releases the lock.
   */
  holdLock?(
    name: string,
    handlers: LockHandlers,
    retryInterval?: number,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** What `database.holdLock` calls. */
export interface LockHandlers {
  onAcquired(): void;
  onLost(): void;
}

/** What `database.listen` calls. */
export interface NotificationHandlers {
  onNotify(payload: string): void;
  /** The listening connection was lost and is back: anything sent meanwhile was missed. */
  onReconnect?(): void;
}
