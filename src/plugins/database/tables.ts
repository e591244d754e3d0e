import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import type {
  Database,
  DatabaseDialect,
  DatabaseTransaction,
  DrizzleByDialect,
  MigrationFolders,
} from './types.js';

/**
 * What plugins that keep tables in the database plugin's database share: raw SQL on every
 * dialect, and their migrations written as drizzle-kit folders. Imported by those plugins' stores
 * (loaded lazily in their `onInit`), never by this plugin's `index.ts`: it loads drizzle.
 */

/** The database or an open transaction of it: every query here runs on either. */
export type Executor = Database | DatabaseTransaction;

/** An identifier, quoted for the dialect (callers validate names first). */
export function identifier(dialect: DatabaseDialect, name: string): SQL {
  return sql.raw(dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
}

/** The rows a query answers, on every dialect. */
export async function rows<Row = Record<string, unknown>>(
  db: Executor,
  query: SQL,
): Promise<Row[]> {
  const drizzle = db.drizzle as DrizzleByDialect[DatabaseDialect];
  if (db.dialect === 'postgresql')
    return (await (drizzle as DrizzleByDialect['postgresql']).execute(query)).rows as Row[];
  if (db.dialect === 'mysql') {
    const [result] = (await (drizzle as DrizzleByDialect['mysql']).execute(query)) as unknown as [
      Row[],
    ];
    return result;
  }
  return (drizzle as DrizzleByDialect['sqlite']).all<Row>(query);
}

/** Runs a statement that answers no rows. */
export async function run(db: Executor, query: SQL): Promise<void> {
  const drizzle = db.drizzle as DrizzleByDialect[DatabaseDialect];
  if (db.dialect === 'postgresql') await (drizzle as DrizzleByDialect['postgresql']).execute(query);
  else if (db.dialect === 'mysql') await (drizzle as DrizzleByDialect['mysql']).execute(query);
  else (drizzle as DrizzleByDialect['sqlite']).run(query);
}

/**
 * Whether a failed statement broke a primary key or unique index: PostgreSQL and PGlite
 * `23505`, MySQL/MariaDB `ER_DUP_ENTRY` (1062), SQLite `SQLITE_CONSTRAINT_PRIMARYKEY` or
 * `_UNIQUE`. Drizzle wraps the driver's error, so the whole cause chain is searched.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code, errno } = current as { code?: unknown; errno?: unknown };
    if (code === '23505' || code === 'ER_DUP_ENTRY' || errno === 1062) return true;
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** One migration file: its name without `.sql` (`0001_users`) and its statements, in order. */
export interface MigrationFile {
  name: string;
  statements: string[];
}

/** A plugin's migrations for each folder (PGlite reads `postgres`). */
export type PluginMigrations = Record<keyof MigrationFolders, MigrationFile[]>;

/**
 * Writes a plugin's migrations as drizzle-kit folders in a temporary folder of this process, for
 * `database.registerMigrations`; `remove` deletes them (at shutdown). Templates rather than
 * shipped files, so a table name can be an option.
 */
export async function writeMigrationFolders(
  prefix: string,
  migrations: PluginMigrations,
): Promise<{ folders: MigrationFolders; remove(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), `qwickapps-${prefix}-`));
  const folders: MigrationFolders = {};
  for (const [folder, files] of Object.entries(migrations) as [
    keyof MigrationFolders,
    MigrationFile[],
  ][]) {
    const dir = path.join(root, folder);
    await mkdir(dir);
    for (const file of files)
      await writeFile(
        path.join(dir, `${file.name}.sql`),
        file.statements.join('\n--> statement-breakpoint\n'),
      );
    folders[folder] = dir;
  }
  return { folders, remove: () => rm(root, { recursive: true, force: true }) };
}
