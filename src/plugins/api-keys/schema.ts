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

/**
 * A key may belong to a tenant (the tenants plugin's id rule: at most 48 characters); it then
 * acts only inside that tenant. Null for keys of the whole product.
 */
const TENANT_MIGRATIONS: Record<keyof MigrationFolders, string> = {
  postgres: `ALTER TABLE "${KEYS_TABLE}" ADD COLUMN tenant_id varchar(48)`,
  mysql: `ALTER TABLE \`${KEYS_TABLE}\` ADD COLUMN tenant_id varchar(48) NULL`,
  sqlite: `ALTER TABLE "${KEYS_TABLE}" ADD COLUMN tenant_id text`,
};

/** The migrations, given in code to the database plugin. */
export function migrationFolders(): MigrationFolders {
  const files = (folder: keyof MigrationFolders) => [
    { name: '0001_api_keys', statements: [MIGRATIONS[folder]] },
    { name: '0002_api_keys_tenant', statements: [TENANT_MIGRATIONS[folder]] },
  ];
  return { postgres: files('postgres'), mysql: files('mysql'), sqlite: files('sqlite') };
}
