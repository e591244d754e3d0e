import type { KeyvStoreAdapter } from 'keyv';
import type { CacheProvider } from './options.js';

/**
 * What a provider adds to its Keyv store: Keyv covers get/set/has/delete with TTL and
 * serialization; prefix and tag invalidation, namespace-only clearing and statistics need the
 * store's own commands (SCAN and sets on Redis, SQL on SQLite, the index of the LRU map).
 */
export interface CacheBackend {
  readonly provider: CacheProvider;
  /** The Keyv store adapter, already bound to the namespace. */
  readonly store: KeyvStoreAdapter;
  /** Over the network: calls get a deadline and may fail while the server is away. */
  readonly remote: boolean;
  /** Where the data lives, for messages (`redis 127.0.0.1:6379`), never credentials. */
  readonly description: string;
  /**
   * The stored record of `key` as Keyv wrote it, read without Keyv's per-call layers. Only the
   * hottest path (`get` on Redis) uses it, to stay close to the raw client's latency.
   */
  read?(key: string): Promise<string | null>;
  /** Records `key` under each tag; `ttl` (ms, 0 = none) lets the store expire stale tag indexes. */
  tag(key: string, tags: readonly string[], ttl: number): Promise<void>;
  invalidateTag(tag: string): Promise<number>;
  invalidatePrefix(prefix: string): Promise<number>;
  /** Every entry and tag index of the namespace, nothing else. */
  clear(): Promise<void>;
  count(limit: number): Promise<{ entries: number; capped: boolean }>;
  usedBytes(): Promise<number | null>;
  /** Entries evicted to respect bounds (memory only). */
  evictions(): number;
  ping(): Promise<void>;
  /** False while the store is known to be unreachable. */
  available(): boolean;
  /** Drops a connection that stopped answering (failing its waiting calls) and reconnects. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The event-emitter surface Keyv expects of a store; ours never emit (errors are thrown). */
export interface SilentEmitter {
  on(): SilentEmitter;
}

export const silentEmitter: SilentEmitter = {
  on: () => silentEmitter,
};
