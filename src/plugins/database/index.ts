import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { databaseOptionsSchema, type DatabaseConfig, type DatabaseOptions } from './options.js';
import type { Driver } from './driver.js';
import { databaseHealthChecks } from './health.js';
import { databaseRoutes } from './routes.js';
import type { Database } from './types.js';
import { databasePanel } from './panel.js';

export type { DatabaseConfig, DatabaseOptions } from './options.js';
export { DATABASE_ERRORS } from './errors.js';
export type {
  Database,
  DatabaseDialect,
  DatabaseProvider,
  DatabaseTransaction,
  DrizzleByDialect,
  DrizzleOf,
  InlineMigration,
  LockHandlers,
  MigrationFolders,
  MigrationSource,
  MigrationRecord,
  NotificationHandlers,
  PoolStats,
  PostgresQueryResultHKT,
  SqlRunner,
} from './types.js';

declare module '../../core/services.js' {
  interface Services {
    database: Database;
  }
}

/**
 * SQL through drizzle on PGlite (embedded default), PostgreSQL, MySQL/MariaDB or SQLite:
 * pooled connections, migrations applied at start-up, transactions with savepoints, a schema per
 * tenant (PostgreSQL/PGlite), health checks and `GET /api/database`. Provides `database`.
 *
 * `url` (or `DATABASE_URL`) picks the provider by its scheme: `postgres://`, `mysql://`,
 * `sqlite:./app.db`, `pglite:./data/pg`, `memory://`; with `provider: 'sqlite'` a plain file path
 * (`./app.db`) or `:memory:` works too. `healthCheck: false` contributes no check; durations take
 * `'30s'`-style strings or milliseconds. Drivers are optional dependencies: install
 * `pg`, `mysql2` or `better-sqlite3` for the provider you use.
 *
 * Migrations are drizzle-kit folders (`NNNN_name.sql`, statements split by
 * `--> statement-breakpoint`), each file applied once in its own transaction. On MySQL/MariaDB
 * DDL commits implicitly, so a failed file can leave its earlier DDL statements applied: keep one
 * DDL statement per file there, or make them idempotent.
 *
 * @example
 * createApp({ name: 'api', plugins: [createDatabasePlugin({ url: process.env.DATABASE_URL, migrations: './drizzle' })] });
 * // in another plugin (dependencies: ['database']):
 * const db = ctx.get('database');
 * await db.registerMigrations('users', { postgres: new URL('./migrations/pg', import.meta.url) });
 * if (db.is('postgresql')) await db.drizzle.select().from(users);
 */
export function createDatabasePlugin(options: DatabaseOptions = {}): ServerPlugin<DatabaseConfig> {
  let database: Database | undefined;
  let driver: Driver | undefined;
  return {
    name: 'database',
    version: CORE_VERSION,
    ui: databasePanel,
    order: PLUGIN_ORDER.early,
    config: { schema: databaseOptionsSchema, options, env: { url: 'DATABASE_URL' } },
    async onInit(ctx) {
      // Imported here so that importing the plugin list never loads drizzle or a driver.
      const { openDatabase } = await import('./database.js');
      ({ database, driver } = await openDatabase(ctx.config, ctx.logger));
      ctx.provide('database', database);
      if (ctx.config.healthCheck.enabled) {
        for (const check of databaseHealthChecks(database, ctx.config, () =>
          driver?.lastAnswerAt?.(),
        ))
          ctx.addHealthCheck(check);
      }
    },
    routes: (ctx) =>
      databaseRoutes(
        () => database,
        ctx.config,
        () => driver?.target,
      ),
    async onShutdown() {
      await database?.close();
    },
  };
}
