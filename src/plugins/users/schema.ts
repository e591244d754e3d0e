import type { InlineMigration, MigrationFolders } from '../database/index.js';

/**
 * The users plugin's tables, as migrations of the database plugin. The table name is an
 * option, so they are made from these templates and given in code; the database plugin records
 * them under `users:<table>` and applies each once, under its migration lock, like any plugin's. A later schema change is a new entry at the end of each list.
 *
 * Storage. `email` and `name` are real columns (NOT NULL, '' when absent), because lists sort
 * and search by them and keyset pagination needs plain columns; every other configured field is
 * a key of the JSON `profile` column, so adding a field to the options needs no DDL.
 * Uniqueness of any field flagged `unique` lives in `<table>_unique`, one row per (field,
 * normalised value) under a primary key: the database refuses the second writer, whatever the
 * dialect and however many instances write at once, with no read-then-write. Times are epoch
 * milliseconds (BIGINT) on every dialect. No foreign keys: SQLite enforces them only per
 * connection setting, so deletes remove identities and claims in the same transaction instead.
 * `<table>_sync` holds one row: the provider sync's lock (holder, lease expiry), a running
 * sync's progress and the last report; the migration inserts it, so taking the lock is a
 * conditional UPDATE on every dialect.
 */
export function migrationFolders(table: string): MigrationFolders {
  const identities = `${table}_identities`;
  const unique = `${table}_unique`;
  const sync = `${table}_sync`;
  // One row: the sync lock (holder, expiry), a running sync's progress and the last report.
  const syncRow = (q: (name: string) => string) =>
    `INSERT INTO ${q(sync)} (name, holder, lock_expires_at, progress, report, updated_at) VALUES ('sync', NULL, NULL, NULL, NULL, 0)`;
  const indexes = (q: (name: string) => string) => [
    `CREATE INDEX ${q(`${table}_created`)} ON ${q(table)} (created_at, id)`,
    `CREATE INDEX ${q(`${table}_email`)} ON ${q(table)} (email, id)`,
    `CREATE INDEX ${q(`${table}_name`)} ON ${q(table)} (name, id)`,
    `CREATE INDEX ${q(`${identities}_user`)} ON ${q(identities)} (user_id)`,
    `CREATE INDEX ${q(`${unique}_user`)} ON ${q(unique)} (user_id)`,
  ];
  const pg = (name: string) => `"${name}"`;
  const my = (name: string) => `\`${name}\``;
  return {
    postgres: [
      {
        name: '0001_users',
        statements: [
          `CREATE TABLE ${pg(table)} (id varchar(36) PRIMARY KEY, email varchar(255) NOT NULL DEFAULT '', name varchar(255) NOT NULL DEFAULT '', profile text NOT NULL DEFAULT '{}', disabled_at bigint, created_at bigint NOT NULL, updated_at bigint NOT NULL)`,
          `CREATE TABLE ${pg(identities)} (issuer varchar(255) NOT NULL, subject varchar(255) NOT NULL, user_id varchar(36) NOT NULL, auth_id varchar(600), created_at bigint NOT NULL, PRIMARY KEY (issuer, subject))`,
          `CREATE TABLE ${pg(unique)} (field varchar(64) NOT NULL, value varchar(255) NOT NULL, user_id varchar(36) NOT NULL, PRIMARY KEY (field, value))`,
          ...indexes(pg),
        ],
      },
      {
        name: '0002_users_sync',
        statements: [
          `CREATE TABLE ${pg(sync)} (name varchar(32) PRIMARY KEY, holder varchar(64), lock_expires_at bigint, progress text, report text, updated_at bigint NOT NULL)`,
          syncRow(pg),
        ],
      },
    ],
    // One DDL statement per file: MySQL commits DDL at once, so a file fails as a whole or not.
    mysql: [
      `CREATE TABLE ${my(table)} (id varchar(36) NOT NULL PRIMARY KEY, email varchar(255) NOT NULL DEFAULT '', name varchar(255) NOT NULL DEFAULT '', profile longtext NOT NULL, disabled_at bigint NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL) DEFAULT CHARSET=utf8mb4`,
      // Binary collation: a unique value is unique as written (emails are lower-cased first).
      `CREATE TABLE ${my(identities)} (issuer varchar(255) NOT NULL COLLATE utf8mb4_bin, subject varchar(255) NOT NULL COLLATE utf8mb4_bin, user_id varchar(36) NOT NULL, auth_id varchar(600) NULL, created_at bigint NOT NULL, PRIMARY KEY (issuer, subject)) DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE ${my(unique)} (field varchar(64) NOT NULL COLLATE utf8mb4_bin, value varchar(255) NOT NULL COLLATE utf8mb4_bin, user_id varchar(36) NOT NULL, PRIMARY KEY (field, value)) DEFAULT CHARSET=utf8mb4`,
      ...indexes(my),
    ]
      .map((statement, index): InlineMigration => ({
        name: `${String(index + 1).padStart(4, '0')}_users`,
        statements: [statement],
      }))
      .concat([
        {
          name: '0009_users_sync',
          statements: [
            `CREATE TABLE ${my(sync)} (name varchar(32) NOT NULL PRIMARY KEY, holder varchar(64) NULL, lock_expires_at bigint NULL, progress longtext NULL, report longtext NULL, updated_at bigint NOT NULL) DEFAULT CHARSET=utf8mb4`,
          ],
        },
        { name: '0010_users_sync', statements: [syncRow(my)] },
      ]),
    sqlite: [
      {
        name: '0001_users',
        statements: [
          `CREATE TABLE ${pg(table)} (id text PRIMARY KEY, email text NOT NULL DEFAULT '', name text NOT NULL DEFAULT '', profile text NOT NULL DEFAULT '{}', disabled_at integer, created_at integer NOT NULL, updated_at integer NOT NULL)`,
          `CREATE TABLE ${pg(identities)} (issuer text NOT NULL, subject text NOT NULL, user_id text NOT NULL, auth_id text, created_at integer NOT NULL, PRIMARY KEY (issuer, subject))`,
          `CREATE TABLE ${pg(unique)} (field text NOT NULL, value text NOT NULL, user_id text NOT NULL, PRIMARY KEY (field, value))`,
          ...indexes(pg),
        ],
      },
      {
        name: '0002_users_sync',
        statements: [
          `CREATE TABLE ${pg(sync)} (name text PRIMARY KEY, holder text, lock_expires_at integer, progress text, report text, updated_at integer NOT NULL)`,
          syncRow(pg),
        ],
      },
    ],
  };
}
