import type { InlineMigration, MigrationFolders } from '../database/index.js';

/** The tables every instance reads; fixed names, like the API keys' table. */
export const ROLES_TABLE = 'qwickapps_roles';
export const ASSIGNMENTS_TABLE = 'qwickapps_role_assignments';
export const REVISION_TABLE = 'qwickapps_roles_revision';

/**
 * The roles plugin's tables (`storage: 'database'`), as migrations of the database plugin
 * (recorded under `roles`). A role's `inherits` and `grants` are JSON text: they are read whole,
 * never queried into. The revision table holds one row, bumped by every change in the change's
 * own transaction: it orders writers (the row lock) and tells other instances that the roles
 * changed. Times are epoch milliseconds; no foreign keys (see users/schema.ts).
 */
export function migrationFolders(): MigrationFolders {
  const pg = (name: string) => `"${name}"`;
  const my = (name: string) => `\`${name}\``;
  const seed = (q: (name: string) => string) =>
    `INSERT INTO ${q(REVISION_TABLE)} (id, revision) VALUES (1, 0)`;
  const index = (q: (name: string) => string) =>
    `CREATE INDEX ${q(`${ASSIGNMENTS_TABLE}_role`)} ON ${q(ASSIGNMENTS_TABLE)} (role)`;
  return {
    postgres: [
      {
        name: '0001_roles',
        statements: [
          `CREATE TABLE ${pg(ROLES_TABLE)} (name varchar(100) PRIMARY KEY, description varchar(500), inherits text NOT NULL, grants text NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL)`,
          `CREATE TABLE ${pg(ASSIGNMENTS_TABLE)} (user_id varchar(255) NOT NULL, role varchar(100) NOT NULL, created_at bigint NOT NULL, PRIMARY KEY (user_id, role))`,
          index(pg),
          `CREATE TABLE ${pg(REVISION_TABLE)} (id integer PRIMARY KEY, revision bigint NOT NULL)`,
          seed(pg),
        ],
      },
    ],
    // One DDL statement per file: MySQL commits DDL at once, so a file fails as a whole or not.
    mysql: [
      `CREATE TABLE ${my(ROLES_TABLE)} (name varchar(100) NOT NULL COLLATE utf8mb4_bin PRIMARY KEY, description varchar(500) NULL, inherits longtext NOT NULL, grants longtext NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL) DEFAULT CHARSET=utf8mb4`,
      // Binary collation: user ids and role names are compared as written, as the engines do.
      `CREATE TABLE ${my(ASSIGNMENTS_TABLE)} (user_id varchar(255) NOT NULL COLLATE utf8mb4_bin, role varchar(100) NOT NULL COLLATE utf8mb4_bin, created_at bigint NOT NULL, PRIMARY KEY (user_id, role)) DEFAULT CHARSET=utf8mb4`,
      index(my),
      `CREATE TABLE ${my(REVISION_TABLE)} (id int NOT NULL PRIMARY KEY, revision bigint NOT NULL)`,
      seed(my),
    ].map((statement, position): InlineMigration => ({
      name: `${String(position + 1).padStart(4, '0')}_roles`,
      statements: [statement],
    })),
    sqlite: [
      {
        name: '0001_roles',
        statements: [
          `CREATE TABLE ${pg(ROLES_TABLE)} (name text PRIMARY KEY, description text, inherits text NOT NULL, grants text NOT NULL, created_at integer NOT NULL, updated_at integer NOT NULL)`,
          `CREATE TABLE ${pg(ASSIGNMENTS_TABLE)} (user_id text NOT NULL, role text NOT NULL, created_at integer NOT NULL, PRIMARY KEY (user_id, role))`,
          index(pg),
          `CREATE TABLE ${pg(REVISION_TABLE)} (id integer PRIMARY KEY, revision integer NOT NULL)`,
          seed(pg),
        ],
      },
    ],
  };
}
