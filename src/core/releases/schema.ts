import type { InlineMigration, MigrationFolders } from '../../plugins/database/index.js';

/** Fixed names, like the roles' tables: every gateway on the database reads the same ones. */
export const RELEASES_TABLE = 'qwickapps_releases';
export const CHUNKS_TABLE = 'qwickapps_release_chunks';
export const ACTIVE_TABLE = 'qwickapps_release_active';

/**
 * The shared release store's tables, as migrations of the database plugin (recorded under
 * `releases`). A release is one row (`scope` names whose it is: `service:api`, `static:static`)
 * and its archive, as uploaded, in chunks of at most 1 MiB: no statement comes near MySQL's
 * `max_allowed_packet`, and a gateway materialising it reads one chunk at a time. The active
 * table holds, per frontend, the active release and the rollback target, with a revision that
 * every change bumps (what MySQL gateways poll). Times are epoch milliseconds.
 */
export function releaseMigrations(): MigrationFolders {
  const pg = (name: string) => `"${name}"`;
  const my = (name: string) => `\`${name}\``;
  const postgres: InlineMigration = {
    name: '0001_releases',
    statements: [
      `CREATE TABLE ${pg(RELEASES_TABLE)} (scope varchar(200) NOT NULL, version varchar(128) NOT NULL, sha256 char(64) NOT NULL, size bigint NOT NULL, chunks integer NOT NULL, uploaded_at bigint NOT NULL, PRIMARY KEY (scope, version))`,
      `CREATE TABLE ${pg(CHUNKS_TABLE)} (scope varchar(200) NOT NULL, version varchar(128) NOT NULL, seq integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (scope, version, seq))`,
      `CREATE TABLE ${pg(ACTIVE_TABLE)} (scope varchar(200) PRIMARY KEY, active varchar(128), previous varchar(128), revision bigint NOT NULL)`,
    ],
  };
  // One DDL statement per file: MySQL commits DDL at once, so a file fails as a whole or not.
  const mysql = [
    `CREATE TABLE ${my(RELEASES_TABLE)} (scope varchar(200) NOT NULL COLLATE utf8mb4_bin, version varchar(128) NOT NULL COLLATE utf8mb4_bin, sha256 char(64) NOT NULL, size bigint NOT NULL, chunks int NOT NULL, uploaded_at bigint NOT NULL, PRIMARY KEY (scope, version)) DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE ${my(CHUNKS_TABLE)} (scope varchar(200) NOT NULL COLLATE utf8mb4_bin, version varchar(128) NOT NULL COLLATE utf8mb4_bin, seq int NOT NULL, data longblob NOT NULL, PRIMARY KEY (scope, version, seq)) DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE ${my(ACTIVE_TABLE)} (scope varchar(200) NOT NULL COLLATE utf8mb4_bin PRIMARY KEY, active varchar(128) NULL COLLATE utf8mb4_bin, previous varchar(128) NULL COLLATE utf8mb4_bin, revision bigint NOT NULL) DEFAULT CHARSET=utf8mb4`,
  ].map((statement, position): InlineMigration => ({
    name: `${String(position + 1).padStart(4, '0')}_releases`,
    statements: [statement],
  }));
  return { postgres: [postgres], mysql };
}
