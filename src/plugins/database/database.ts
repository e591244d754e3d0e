import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { DatabaseConfig } from './options.js';
import type { Driver, TransactionHandle } from './driver.js';
import { applyMigrations, listMigrations, MigrationSets } from './migrations.js';
import { openMysql } from './providers/mysql.js';
import { openPglite } from './providers/pglite.js';
import { openPostgres } from './providers/postgres.js';
import { openSqlite } from './providers/sqlite.js';
import { waitForDatabase, withTimeout } from './startup.js';
import type { SQL } from 'drizzle-orm';
import type {
  Database,
  DatabaseDialect,
  DatabaseTransaction,
  DrizzleByDialect,
  DrizzleOf,
  LockHandlers,
  SqlRunner,
} from './types.js';

export const TENANT_ID = /^[a-z0-9_]{1,48}$/;

interface Shared {
  config: DatabaseConfig;
  logger: Logger;
  sets: MigrationSets;
  /** The main database; tenants hand `forTenant` back to it. */
  root?: Database;
}

/** Raw SQL through drizzle on any dialect: PostgreSQL answers `{ rows }`, MySQL `[rows]`. */
function sqlRunner(dialect: DatabaseDialect, drizzle: unknown): SqlRunner {
  return {
    rows: async <Row>(query: SQL) => {
      if (dialect === 'postgresql')
        return (await (drizzle as DrizzleByDialect['postgresql']).execute(query)).rows as Row[];
      if (dialect === 'mysql') {
        const [result] = (await (drizzle as DrizzleByDialect['mysql']).execute(
          query,
        )) as unknown as [Row[]];
        return result;
      }
      return (drizzle as DrizzleByDialect['sqlite']).all<Row>(query);
    },
    run: async (query: SQL) => {
      if (dialect === 'postgresql')
        await (drizzle as DrizzleByDialect['postgresql']).execute(query);
      else if (dialect === 'mysql') await (drizzle as DrizzleByDialect['mysql']).execute(query);
      else (drizzle as DrizzleByDialect['sqlite']).run(query);
    },
  };
}

function transactionOf<D extends DatabaseDialect>(
  dialect: D,
  handle: TransactionHandle,
  store: AsyncLocalStorage<TransactionHandle>,
): DatabaseTransaction<D> {
  return {
    ...sqlRunner(dialect, handle.drizzle),
    dialect,
    drizzle: handle.drizzle as DrizzleOf<D>,
    transaction: (fn) =>
      handle.savepoint((inner) => store.run(inner, () => fn(transactionOf(dialect, inner, store)))),
    is: ((other: DatabaseDialect) => other === dialect) as DatabaseTransaction<D>['is'],
  };
}

/** Builds the `database` service over a driver. */
function createDatabase(driver: Driver, shared: Shared): Database {
  const { config, logger, sets } = shared;
  // The open transaction of the current async call chain: a nested call becomes a savepoint.
  const store = new AsyncLocalStorage<TransactionHandle>();
  const tenants = new Map<string, Promise<{ database: Database; driver: Driver }>>();
  const migrateOptions = {
    table: config.migrationsTable,
    lockTimeout: config.migrationLockTimeout,
    logger,
  };
  const dialect = driver.dialect;

  const openTenant = async (id: string) => {
    const tenantDriver = await driver.forSchema!(`tenant_${id}`);
    try {
      const tenant = createDatabase(tenantDriver, { ...shared, root: database });
      await tenant.migrate();
      logger.info({ tenant: id, schema: tenantDriver.schema }, 'tenant schema ready');
      return { database: tenant, driver: tenantDriver };
    } catch (error) {
      await tenantDriver.close().catch(() => undefined);
      throw error;
    }
  };

  const database: Database = {
    ...sqlRunner(dialect, driver.drizzle),
    provider: driver.provider,
    dialect,
    schema: driver.schema,
    drizzle: driver.drizzle as DrizzleOf<DatabaseDialect>,
    is: ((other: DatabaseDialect) => other === dialect) as Database['is'],
    transaction: (fn) => {
      const current = store.getStore();
      const run = (handle: TransactionHandle) =>
        store.run(handle, () => fn(transactionOf(dialect, handle, store)));
      return current ? current.savepoint(run) : driver.transaction(run);
    },
    // The timeout may reach an answer: it names the provider, not the target (a PGlite folder, a host).
    ping: (timeout = config.healthCheck.timeout) =>
      withTimeout(driver.ping(), timeout, `The ${driver.provider} database`),
    poolStats: () => driver.poolStats(),
    migrate: () => applyMigrations(driver, sets.folders(dialect), migrateOptions),
    migrations: () => listMigrations(driver, config.migrationsTable),
    registerMigrations: async (plugin, folders) => {
      if (shared.root) return shared.root.registerMigrations(plugin, folders);
      sets.register(plugin, folders);
      const applied = await applyMigrations(driver, sets.folders(dialect, plugin), migrateOptions);
      for (const tenant of await Promise.allSettled(tenants.values())) {
        if (tenant.status === 'fulfilled')
          await applyMigrations(tenant.value.driver, sets.folders(dialect, plugin), migrateOptions);
      }
      return applied;
    },
    ...(driver.listen ? { listen: driver.listen.bind(driver) } : {}),
    ...(driver.holdLock
      ? {
          holdLock: (name: string, handlers: LockHandlers, retryInterval = 1_000) =>
            driver.holdLock!(name, handlers, retryInterval),
        }
      : {}),
    forTenant: (id) => {
      if (shared.root) return shared.root.forTenant(id);
      if (typeof id !== 'string' || !TENANT_ID.test(id)) {
        const shown = JSON.stringify(String(id)).slice(0, 60);
        return Promise.reject(
          new HttpError(
            400,
            'DATABASE_TENANT_INVALID',
            `A tenant id is 1-48 characters of a-z, 0-9 and _ (got ${shown}).`,
          ),
        );
      }
      if (!driver.forSchema) {
        return Promise.reject(
          new HttpError(
            501,
            'DATABASE_TENANT_UNSUPPORTED',
            `Schema-per-tenant needs PostgreSQL or PGlite; provider "${driver.provider}" has no schemas.`,
          ),
        );
      }
      let pending = tenants.get(id);
      if (!pending) {
        pending = openTenant(id);
        tenants.set(id, pending);
        // A failed first use is retried by the next call rather than cached.
        pending.catch(() => tenants.delete(id));
      }
      return pending.then((tenant) => tenant.database);
    },
    close: async () => {
      // Tenant handles belong to the main database, which closes them with itself.
      if (shared.root) return;
      const opened = await Promise.allSettled(tenants.values());
      tenants.clear();
      for (const result of opened)
        if (result.status === 'fulfilled') await result.value.driver.close().catch(() => undefined);
      await driver.close();
    },
  };
  return database;
}

const OPENERS = {
  pglite: openPglite,
  postgres: openPostgres,
  mysql: openMysql,
  sqlite: openSqlite,
} as const;

/**
 * Opens the configured database: waits for it (retrying, see startup.ts), then applies the
 * app's migrations. Everything opened is closed again when a step fails.
 */
export async function openDatabase(
  config: DatabaseConfig,
  logger: Logger,
): Promise<{ database: Database; driver: Driver }> {
  const driver = await OPENERS[config.provider]({ config, logger });
  try {
    await waitForDatabase(driver, config, logger);
    const sets = new MigrationSets();
    const app = config.migrations;
    if (app)
      sets.register(
        'app',
        typeof app === 'string' || app instanceof URL
          ? { postgres: app, mysql: app, sqlite: app }
          : app,
      );
    const database = createDatabase(driver, { config, logger, sets });
    const applied = await database.migrate();
    logger.info(
      {
        provider: driver.provider,
        target: driver.target,
        schema: driver.schema,
        applied: applied.length,
      },
      'database ready',
    );
    return { database, driver };
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error;
  }
}
