import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { KeyvStoreAdapter } from 'keyv';
import { silentEmitter, type CacheBackend } from './backend.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS qwickapps_cache (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires INTEGER,
  PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS qwickapps_cache_expires ON qwickapps_cache (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS qwickapps_cache_tags (
  namespace TEXT NOT NULL,
  tag TEXT NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (namespace, tag, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS qwickapps_cache_tags_key ON qwickapps_cache_tags (namespace, key);
`;

export interface SqliteStoreOptions {
  path: string;
  namespace: string;
  /** Milliseconds a statement waits for another process's write lock. */
  busyTimeout: number;
  sweepInterval: number;
}

/**
 * The `sqlite` provider: a Keyv store written directly over better-sqlite3 (already the database
 * plugin's driver), rather than @keyv/sqlite, which brings the separate `sqlite3` native package.
 * Several namespaces and processes can share one file; each row carries its namespace.
 */
export function createSqliteBackend(options: SqliteStoreOptions): CacheBackend {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path, { timeout: options.busyTimeout });
  if (options.path !== ':memory:') db.pragma('journal_mode = WAL');
  db.exec(SCHEMA);
  const ns = options.namespace;
  const statements = {
    get: db.prepare<[string, string], { value: string; expires: number | null }>(
      'SELECT value, expires FROM qwickapps_cache WHERE namespace = ? AND key = ?',
    ),
    set: db.prepare(
      'INSERT INTO qwickapps_cache (namespace, key, value, expires) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires = excluded.expires',
    ),
    delete: db.prepare('DELETE FROM qwickapps_cache WHERE namespace = ? AND key = ?'),
    untag: db.prepare('DELETE FROM qwickapps_cache_tags WHERE namespace = ? AND key = ?'),
    tag: db.prepare(
      'INSERT OR IGNORE INTO qwickapps_cache_tags (namespace, tag, key) VALUES (?, ?, ?)',
    ),
    tagged: db.prepare<[string, string], { key: string }>(
      'SELECT key FROM qwickapps_cache_tags WHERE namespace = ? AND tag = ?',
    ),
    prefixed: db.prepare<[string, string, string], { key: string }>(
      'SELECT key FROM qwickapps_cache WHERE namespace = ? AND substr(key, 1, length(?)) = ?',
    ),
    count: db.prepare<[string, number], { entries: number }>(
      'SELECT count(*) AS entries FROM qwickapps_cache WHERE namespace = ? AND (expires IS NULL OR expires > ?)',
    ),
    clear: db.prepare('DELETE FROM qwickapps_cache WHERE namespace = ?'),
    clearTags: db.prepare('DELETE FROM qwickapps_cache_tags WHERE namespace = ?'),
    expired: db.prepare<[number], { namespace: string; key: string }>(
      'SELECT namespace, key FROM qwickapps_cache WHERE expires IS NOT NULL AND expires <= ?',
    ),
  };

  const removeKeys = db.transaction((keys: readonly string[]) => {
    let removed = 0;
    for (const key of keys) {
      removed += statements.delete.run(ns, key).changes;
      statements.untag.run(ns, key);
    }
    return removed;
  });
  const write = db.transaction((key: string, value: string, expires: number | null) => {
    statements.set.run(ns, key, value, expires);
    statements.untag.run(ns, key);
  });
  const sweep = db.transaction((now: number) => {
    for (const row of statements.expired.all(now)) {
      statements.delete.run(row.namespace, row.key);
      statements.untag.run(row.namespace, row.key);
    }
  });

  const store = {
    opts: { dialect: 'sqlite', path: options.path },
    namespace: ns as string | undefined,
    on: silentEmitter.on,
    async get(key: string): Promise<string | undefined> {
      const row = statements.get.get(ns, key);
      if (!row) return undefined;
      if (row.expires !== null && row.expires <= Date.now()) {
        removeKeys([key]);
        return undefined;
      }
      return row.value;
    },
    async set(key: string, value: string, ttl?: number): Promise<void> {
      write(key, value, ttl ? Date.now() + ttl : null);
    },
    async has(key: string): Promise<boolean> {
      return (await store.get(key)) !== undefined;
    },
    async delete(key: string): Promise<boolean> {
      return removeKeys([key]) > 0;
    },
    async clear(): Promise<void> {
      db.transaction(() => {
        statements.clear.run(ns);
        statements.clearTags.run(ns);
      })();
    },
  };

  const sweeper = setInterval(() => sweep(Date.now()), options.sweepInterval);
  sweeper.unref();

  return {
    provider: 'sqlite',
    store: store as unknown as KeyvStoreAdapter,
    remote: false,
    description: `sqlite ${options.path}`,
    tag: async (key, tags) => {
      db.transaction(() => {
        for (const tag of tags) statements.tag.run(ns, tag, key);
      })();
    },
    invalidateTag: async (tag) => removeKeys(statements.tagged.all(ns, tag).map((row) => row.key)),
    invalidatePrefix: async (prefix) =>
      removeKeys(statements.prefixed.all(ns, prefix, prefix).map((row) => row.key)),
    clear: () => store.clear(),
    count: async () => ({
      entries: statements.count.get(ns, Date.now())?.entries ?? 0,
      capped: false,
    }),
    usedBytes: async () => {
      const pages = db.pragma('page_count', { simple: true }) as number;
      const size = db.pragma('page_size', { simple: true }) as number;
      return pages * size;
    },
    evictions: () => 0,
    ping: async () => void db.prepare('SELECT 1').get(),
    available: () => db.open,
    reset: async () => undefined,
    close: async () => {
      clearInterval(sweeper);
      db.close();
    },
  };
}
