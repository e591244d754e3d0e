import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MigrationFolders } from '../database/index.js';

/** Memberships live in the main schema: they decide who reaches a tenant's schema at all. */
export const MEMBERS_TABLE = 'qwickapps_tenant_members';

/**
 * The memberships table, as migrations of the database plugin (recorded under `tenants`). One
 * row per (tenant, user); `roles` is a JSON list; times are epoch ms. The index on `user_id`
 * answers "a user's tenants". One DDL statement per file: MySQL commits DDL at once.
 */
const MIGRATIONS: Record<keyof MigrationFolders, string[]> = {
  postgres: [
    `CREATE TABLE "${MEMBERS_TABLE}" (tenant_id varchar(48) NOT NULL, user_id varchar(255) NOT NULL, roles text NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL, PRIMARY KEY (tenant_id, user_id))`,
    `CREATE INDEX "${MEMBERS_TABLE}_user" ON "${MEMBERS_TABLE}" (user_id)`,
  ],
  mysql: [
    `CREATE TABLE \`${MEMBERS_TABLE}\` (tenant_id varchar(48) NOT NULL COLLATE utf8mb4_bin, user_id varchar(255) NOT NULL COLLATE utf8mb4_bin, roles longtext NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL, PRIMARY KEY (tenant_id, user_id)) DEFAULT CHARSET=utf8mb4`,
    `CREATE INDEX \`${MEMBERS_TABLE}_user\` ON \`${MEMBERS_TABLE}\` (user_id)`,
  ],
  sqlite: [
    `CREATE TABLE "${MEMBERS_TABLE}" (tenant_id text NOT NULL, user_id text NOT NULL, roles text NOT NULL, created_at integer NOT NULL, updated_at integer NOT NULL, PRIMARY KEY (tenant_id, user_id))`,
    `CREATE INDEX "${MEMBERS_TABLE}_user" ON "${MEMBERS_TABLE}" (user_id)`,
  ],
};

const FILE_NAMES = ['0001_tenant_members', '0002_tenant_members_by_user'];

/** Writes the migration folders into a folder of this process; `remove` deletes them. */
export async function writeMigrationFolders(): Promise<{
  folders: MigrationFolders;
  remove(): Promise<void>;
}> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'qwickapps-tenants-'));
  const folders: MigrationFolders = {};
  for (const [folder, statements] of Object.entries(MIGRATIONS) as [
    keyof MigrationFolders,
    string[],
  ][]) {
    const dir = path.join(root, folder);
    await mkdir(dir);
    for (const [index, statement] of statements.entries())
      await writeFile(path.join(dir, `${FILE_NAMES[index]}.sql`), statement);
    folders[folder] = dir;
  }
  return { folders, remove: () => rm(root, { recursive: true, force: true }) };
}
