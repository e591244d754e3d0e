import type { Duration } from '../../core/duration.js';
import type { CacheProvider } from './options.js';

/** Per-entry options of `set` and `getOrSet`; a bare duration is the TTL. */
export interface CacheSetOptions {
  /**
   * Time to live: `'15m'`, `'30s'`, `'500ms'`, or a number of SECONDS (as the plugin's `ttl`);
   * 0 keeps the entry until evicted or deleted. Default: the plugin's `ttl`.
   */
  ttl?: Duration;
  /** Labels for `invalidateTag`, e.g. `['user:42']`. */
  tags?: string[];
}

/** Latency of `get`, in milliseconds, over the most recent samples. */
export interface CacheLatency {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface CacheMemory {
  /** Bytes held by the store: serialized data (`memory`), the database file (`sqlite`), `used_memory` of the server (`redis`). */
  usedBytes: number | null;
  /** The configured bound (`memory` only). */
  maxBytes?: number;
  /** The process's own memory, for the `memory` store that lives in it. */
  process: { rss: number; heapUsed: number };
}

/** What the control panel shows for the cache (`GET /api/cache/stats`). */
export interface CacheStats {
  provider: CacheProvider;
  namespace: string;
  /** False while the store is unreachable (calls then fail soft or throw, per `failOpen`). */
  available: boolean;
  hits: number;
  misses: number;
  /** hits / (hits + misses); 0 before the first get. */
  hitRate: number;
  sets: number;
  deletes: number;
  errors: number;
  /** `memory`: entries dropped to stay within `maxEntries` / `maxBytes`. */
  evictions: number;
  /** Concurrent `getOrSet` calls that joined a load already in flight. */
  coalesced: number;
  /** Entries in this namespace; null when the store cannot be reached. */
  entries: number | null;
  /** True when counting stopped at `statsScanLimit` (Redis). */
  entriesCapped: boolean;
  memory: CacheMemory;
  latency: CacheLatency;
  /** When counting started (ISO time). */
  since: string;
}

/**
 * The shared cache, provided as `ctx.get('cache')`. Values must be JSON-safe: plain objects,
 * arrays, strings, finite numbers, booleans and null. Anything else is refused with
 * `CACHE_VALUE_NOT_SERIALIZABLE` rather than coming back changed (a Date would return as a string).
 * Object properties whose value is `undefined` are dropped, as JSON drops them.
 */
export interface Cache {
  readonly provider: CacheProvider;
  readonly namespace: string;
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, options?: Duration | CacheSetOptions): Promise<void>;
  /** True when an entry was removed. */
  delete(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /**
   * The cached value, or the loader's result stored and returned. Concurrent misses of one key
   * in this process call the loader once. An `undefined` result is returned but not stored.
   */
  getOrSet<T>(
    key: string,
    loader: () => T | Promise<T>,
    options?: Duration | CacheSetOptions,
  ): Promise<T>;
  /** Removes every key starting with `prefix`; returns how many. */
  invalidatePrefix(prefix: string): Promise<number>;
  /** Removes every key set with `tag`; returns how many. */
  invalidateTag(tag: string): Promise<number>;
  /** Removes every entry of this namespace (other namespaces are untouched). Throws when unreachable. */
  clear(): Promise<void>;
  stats(): Promise<CacheStats>;
  /** Round-trip to the store in milliseconds; throws when unreachable. */
  ping(): Promise<number>;
  /** False while the store is known to be unreachable. */
  isAvailable(): boolean;
}
