import type { Cache } from '../cache/types.js';

/**
 * Where the auth plugin keeps what it must share between gateway instances: server sessions,
 * per-user indexes, revocations, used login transactions and `logout_token` ids, login-attempt
 * counters. The cache plugin's Cache when it is registered (Redis there means every instance
 * sees the same state), else a bounded map in this process.
 */
export interface AuthStore {
  readonly shared: boolean;
  get<T>(key: string): Promise<T | undefined>;
  /** `ttl` in milliseconds, at least one second in a shared cache (it counts in seconds). */
  set(key: string, value: unknown, ttl: number): Promise<void>;
  delete(key: string): Promise<boolean>;
}

const PREFIX = 'auth:';

/** The cache plugin's Cache under the `auth:` prefix. */
export function cacheStore(cache: Cache): AuthStore {
  return {
    shared: true,
    get: (key) => cache.get(PREFIX + key),
    set: (key, value, ttl) =>
      cache.set(PREFIX + key, value, { ttl: Math.max(1, Math.ceil(ttl / 1000)) }),
    delete: (key) => cache.delete(PREFIX + key),
  };
}

/**
 * A map bounded by `maxEntries`: past it the entry written longest ago goes first, so a flood of
 * logins cannot grow the process without end. Expired entries are dropped when read.
 */
export function memoryStore(maxEntries = 100_000): AuthStore {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  return {
    shared: false,
    async get<T>(key: string) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      // A copy, as a shared cache would give: callers may change what they read.
      return JSON.parse(entry.value) as T;
    },
    async set(key, value, ttl) {
      entries.delete(key);
      entries.set(key, { value: JSON.stringify(value), expiresAt: Date.now() + ttl });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    async delete(key) {
      return entries.delete(key);
    },
  };
}
