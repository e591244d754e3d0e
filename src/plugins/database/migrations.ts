import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ConfigError, HttpError, errorMessage } from '../../core/errors.js';
import { quoteIdentifier, type Driver, type Session } from './driver.js';
import type {
  DatabaseDialect,
  MigrationFolders,
  MigrationRecord,
  MigrationSource,
} from './types.js';

export interface MigrationFile {
  plugin: string;
  name: string;
  file: string;
  hash: string;
  statements: string[];
}

const BREAKPOINT = /-->\s*statement-breakpoint/;
const FOLDER_KEY: Record<DatabaseDialect, keyof MigrationFolders> = {
  postgresql: 'postgres',
  mysql: 'mysql',
  sqlite: 'sqlite',
};

/** A statement made only of comments and blanks is skipped (MySQL rejects empty queries). */
function hasCode(statement: string): boolean {
  return statement.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--'));
}

/**
 * Reads a drizzle-kit migrations folder: `NNNN_name.sql` files, statements separated by
 * `--> statement-breakpoint`, in the order of `meta/_journal.json` when present, else by name.
 */
export async function readMigrationFolder(
  plugin: string,
  folder: MigrationSource,
): Promise<MigrationFile[]> {
  if (typeof folder !== 'string' && !(folder instanceof URL))
    return inlineMigrations(plugin, folder);
  const dir = folder instanceof URL ? fileURLToPath(folder) : path.resolve(folder);
  let names: string[];
  try {
    const journal = JSON.parse(await readFile(path.join(dir, 'meta', '_journal.json'), 'utf8')) as {
      entries?: { idx: number; tag: string }[];
    };
    names = [...(journal.entries ?? [])]
      .sort((a, b) => a.idx - b.idx)
      .map((entry) => `${entry.tag}.sql`);
  } catch {
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
    } catch (error) {
      // A folder that is not there is a wrong option, found at start-up, not a 500.
      const option =
        plugin === 'app'
          ? 'plugins.database.migrations'
          : `the migrations plugin "${plugin}" registered`;
      throw Object.assign(
        new ConfigError([
          {
            name: option,
            received: `${dir} (${errorMessage(error)})`,
            expected: 'a readable folder of .sql migrations',
          },
        ]),
        { cause: error },
      );
    }
  }
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      const text = await readFile(file, 'utf8');
      return {
        plugin,
        name: name.replace(/\.sql$/, ''),
        file,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text
          .split(BREAKPOINT)
          .map((statement) => statement.trim())
          .filter(hasCode),
      };
    }),
  );
}

/**
 * Migrations given in code, hashed as the file of the same statements would be (so moving them
 * between a folder and code changes no recorded hash), in name order.
 */
function inlineMigrations(
  plugin: string,
  migrations: Exclude<MigrationSource, string | URL>,
): MigrationFile[] {
  return [...migrations]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((migration) => {
      const text = migration.statements.join('\n--> statement-breakpoint\n');
      return {
        plugin,
        name: migration.name,
        file: `${plugin}:${migration.name}`,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: migration.statements.map((statement) => statement.trim()).filter(hasCode),
      };
    });
}

/** Migration folders registered by plugins, in registration order. */
export class MigrationSets {
  private readonly sets = new Map<string, MigrationFolders>();

  register(plugin: string, folders: MigrationFolders): void {
    this.sets.set(plugin, folders);
  }

  /** The folder of each plugin (or only `plugin`) for a dialect. */
  folders(
    dialect: DatabaseDialect,
    plugin?: string,
  ): { plugin: string; folder: MigrationSource }[] {
    const out: { plugin: string; folder: MigrationSource }[] = [];
    for (const [name, folders] of this.sets) {
      const folder = folders[FOLDER_KEY[dialect]];
      if (folder && (plugin === undefined || plugin === name)) out.push({ plugin: name, folder });
    }
    return out;
  }
}

interface TableSql {
  create: string;
  select: string;
  find: string;
  insert: string;
}

function tableSql(dialect: DatabaseDialect, table: string): TableSql {
  const t = quoteIdentifier(table, dialect);
  const p = (index: number) => (dialect === 'postgresql' ? `$${index}` : '?');
  const appliedAt = {
    postgresql: 'timestamptz NOT NULL DEFAULT now()',
    mysql: 'timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)',
    sqlite: "text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
  }[dialect];
  return {
    create: `CREATE TABLE IF NOT EXISTS ${t} (plugin varchar(128) NOT NULL, name varchar(255) NOT NULL, hash char(64) NOT NULL, applied_at ${appliedAt}, PRIMARY KEY (plugin, name))`,
    select: `SELECT plugin, name, hash, applied_at FROM ${t} ORDER BY applied_at, plugin, name`,
    find: `SELECT hash FROM ${t} WHERE plugin = ${p(1)} AND name = ${p(2)}`,
    insert: `INSERT INTO ${t} (plugin, name, hash) VALUES (${p(1)}, ${p(2)}, ${p(3)})`,
  };
}

type Row = { plugin: string; name: string; hash: string; applied_at: string | Date };
const toRecord = (row: Row): MigrationRecord => ({
  plugin: row.plugin,
  name: row.name,
  hash: row.hash,
  appliedAt: new Date(row.applied_at).toISOString(),
});

export interface MigrateOptions {
  table: string;
  lockTimeout: number;
  logger: Logger;
}

/** Applies one file in its own transaction; false when another instance already applied it. */
async function applyFile(
  session: Session,
  sql: TableSql,
  migration: MigrationFile,
  logger: Logger,
): Promise<boolean> {
  return session.atomic(async () => {
    const [existing] = await session.rows<{ hash: string }>(sql.find, [
      migration.plugin,
      migration.name,
    ]);
    if (existing) {
      if (existing.hash.trim() !== migration.hash) {
        logger.warn(
          { plugin: migration.plugin, migration: migration.name, file: migration.file },
          'migration file changed after it was applied; not re-applied',
        );
      }
      return false;
    }
    for (const statement of migration.statements) {
      try {
        await session.run(statement);
      } catch (error) {
        throw new HttpError(
          500,
          'DATABASE_MIGRATION_FAILED',
          `Migration ${migration.file} (plugin "${migration.plugin}") failed: ${errorMessage(error)}`,
          {
            cause: error,
            details: { plugin: migration.plugin, migration: migration.name, file: migration.file },
          },
        );
      }
    }
    await session.rows(sql.insert, [migration.plugin, migration.name, migration.hash]);
    return true;
  });
}

/**
 * Applies pending migrations of the given folders under a lock, so instances starting together
 * apply each file once. Stops at the first failure; what it applied before stays applied.
 */
export async function applyMigrations(
  driver: Driver,
  folders: { plugin: string; folder: MigrationSource }[],
  options: MigrateOptions,
): Promise<MigrationRecord[]> {
  const files = (
    await Promise.all(folders.map(({ plugin, folder }) => readMigrationFolder(plugin, folder)))
  ).flat();
  const sql = tableSql(driver.dialect, options.table);
  return driver.session(async (session) => {
    const release = await session.lock(
      `${options.table}:${driver.schema ?? ''}`,
      options.lockTimeout,
    );
    try {
      if (driver.schema)
        await session.run(
          `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(driver.schema, driver.dialect)}`,
        );
      await session.run(sql.create);
      const applied: MigrationRecord[] = [];
      for (const migration of files) {
        if (!(await applyFile(session, sql, migration, options.logger))) continue;
        options.logger.info(
          { plugin: migration.plugin, migration: migration.name, schema: driver.schema },
          'migration applied',
        );
        applied.push({
          plugin: migration.plugin,
          name: migration.name,
          hash: migration.hash,
          appliedAt: new Date().toISOString(),
        });
      }
      return applied;
    } finally {
      await release().catch(() => undefined);
    }
  });
}

/** The migrations recorded as applied (the table exists once `applyMigrations` ran). */
export async function listMigrations(driver: Driver, table: string): Promise<MigrationRecord[]> {
  return (await driver.query<Row>(tableSql(driver.dialect, table).select)).map(toRecord);
}
