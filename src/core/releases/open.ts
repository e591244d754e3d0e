import { ConfigError } from '../errors.js';
import type { Database } from '../../plugins/database/index.js';
import type { DatabaseReleaseStore } from './db-store.js';
import type { ReleaseLimits } from './options.js';
import { releaseMigrations } from './schema.js';
import { DiskReleaseStore } from './store.js';

/** A store the caller opens once before the first upload. */
export type OpenableReleaseStore = DiskReleaseStore | DatabaseReleaseStore;

/** Whether the database is one that several gateways reach: a server, not an embedded engine. */
export function sharedDatabase(db: Database | undefined): boolean {
  return db?.provider === 'postgres' || db?.provider === 'mysql';
}

/**
 * The store a plugin's `store` option chooses: the shared database when it is a server
 * (PostgreSQL, MySQL) and the option allows, else the disk under `root`. PGlite and SQLite keep
 * the disk: one process (PGlite) or one machine (a SQLite file) reaches them, and that machine
 * reaches the disk as well, so a copy of each archive in the database would serve nobody more.
 * `store: 'database'` without such a database fails start-up, naming `option`.
 */
export async function chooseReleaseStore(options: {
  limits: ReleaseLimits;
  database: Database | undefined;
  scope: string;
  root: string;
  option: string;
}): Promise<OpenableReleaseStore> {
  const { limits, database, scope, root, option } = options;
  const choice = limits.store ?? 'auto';
  if (choice === 'database' && !sharedDatabase(database))
    throw new ConfigError([
      {
        name: option,
        expected:
          'the database plugin on PostgreSQL or MySQL, where every gateway reads the releases ("auto" or "disk" otherwise)',
        received: database
          ? `"database" with ${database.provider}`
          : '"database" without the database plugin',
      },
    ]);
  if (choice === 'disk' || !database || !sharedDatabase(database))
    return new DiskReleaseStore(root);
  await database.registerMigrations('releases', releaseMigrations());
  // Loaded only here: drizzle stays out of the import graph of apps without a shared database.
  const { DatabaseReleaseStore } = await import('./db-store.js');
  return new DatabaseReleaseStore(database, scope, root, limits);
}
