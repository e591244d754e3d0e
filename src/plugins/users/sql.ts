import { sql, type SQL } from 'drizzle-orm';
import type { Database, DatabaseDialect, DatabaseTransaction } from '../database/index.js';

/** The database or an open transaction of it: every query here runs on either. */
export type Executor = Database | DatabaseTransaction;

/** An identifier, quoted for the dialect (names are validated by the options schema too). */
export function identifier(dialect: DatabaseDialect, name: string): SQL {
  return sql.raw(dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
}

/** The rows a query answers, on every dialect (the database service's raw SQL). */
export const rows = <Row = Record<string, unknown>>(db: Executor, query: SQL): Promise<Row[]> =>
  db.rows<Row>(query);

/** Runs a statement that answers no rows. */
export const run = (db: Executor, query: SQL): Promise<void> => db.run(query);

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
