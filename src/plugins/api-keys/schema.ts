import type { MigrationFolders } from '../database/index.js';

/** The table every instance reads, so a revocation counts everywhere at once. */
export const KEYS_TABLE = 'qwickapps_api_keys';

/**
 * The plugin's table, as migrations of the database plugin (recorded under `api-keys`, applied
 * once under its lock). Only the key's SHA-256 is stored, never the key. Times are epoch ms.
 * Rows are kept after revocation (`revoked_at`), so the list shows what existed and when.
 */
const MIGRATIONS: Record<keyof MigrationFolders, string> = {
  postgres: `CREATE TABLE "${KEYS_TABLE}" (id varchar(16) PRIMARY KEY, name varchar(100) NOT NULL, hash char(64) NOT NULL, scopes text NOT NULL, created_at bigint NOT NULL, expires_at bigint, last_used_at bigint, revoked_at bigint)`,
  mysql: `CREATE TABLE \`${KEYS_TABLE}\` (id varchar(16) NOT NULL PRIMARY KEY, name varchar(100) NOT NULL, hash char(64) NOT NULL, scopes longtext NOT NULL, created_at bigint NOT NULL, expires_at bigint NULL, last_used_at bigint NULL, revoked_at bigint NULL) DEFAULT CHARSET=utf8mb4`,
  sqlite: `CREATE TABLE "${KEYS_TABLE}" (id text PRIMARY KEY, name text NOT NULL, hash text NOT NULL, scopes text NOT NULL, created_at integer NOT NULL, expires_at integer, last_used_at integer, revoked_at integer)`,
};

/** The migrations, given in code to the database plugin. */
export function migrationFolders(): MigrationFolders {
  const files = (statement: string) => [{ name: '0001_api_keys', statements: [statement] }];
  return {
    postgres: files(MIGRATIONS.postgres),
    mysql: files(MIGRATIONS.mysql),
    sqlite: files(MIGRATIONS.sqlite),
  };
}
