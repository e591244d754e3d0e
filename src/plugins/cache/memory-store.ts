import { HttpError } from '../../core/errors.js';
import type { KeyvStoreAdapter } from 'keyv';
import { silentEmitter, type CacheBackend } from './backend.js';

interface Entry {
  value: string;
  bytes: number;
  /** Epoch milliseconds; 0 never expires. */
  expires: number;
  tags?: readonly string[];
}

export interface MemoryStoreOptions {
  maxEntries: number;
  maxBytes: number;
}

/**
 * An in-process Keyv store bounded by entry count and bytes, evicting the least recently used.
 * A Map keeps insertion order, so re-inserting on every hit makes its first key the LRU one.
 * Values are the serialized strings Keyv hands over: callers never share objects with the cache,
 * and the byte count is the UTF-8 size of key plus value (per-entry overhead is not counted).
 */
export class MemoryLruStore {
  readonly opts: MemoryStoreOptions & { dialect: 'memory' };
  namespace?: string;
  readonly on = silentEmitter.on;
  private readonly entries = new Map<string, Entry>();
  private readonly tagIndex = new Map<string, Set<string>>();
  private bytes = 0;
  evicted = 0;

  constructor(options: MemoryStoreOptions) {
    this.opts = { ...options, dialect: 'memory' };
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.live(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    const bytes = Buffer.byteLength(key) + Buffer.byteLength(value);
    if (bytes > this.opts.maxBytes) {
      throw new HttpError(
        413,
        'CACHE_VALUE_TOO_LARGE',
        `Cannot cache key "${key}": ${bytes} bytes exceeds maxBytes (${this.opts.maxBytes}).`,
      );
    }
    this.remove(key);
    this.entries.set(key, { value, bytes, expires: ttl ? Date.now() + ttl : 0 });
    this.bytes += bytes;
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.opts.maxEntries && this.bytes <= this.opts.maxBytes) break;
      this.remove(oldest);
      this.evicted++;
    }
    return true;
  }

  async has(key: string): Promise<boolean> {
    return this.live(key) !== undefined;
  }

  async delete(key: string): Promise<boolean> {
    return this.remove(key);
  }

  async clear(): Promise<void> {
    this.entries.clear();
    this.tagIndex.clear();
    this.bytes = 0;
  }

  tag(key: string, tags: readonly string[]): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.tags = [...new Set([...(entry.tags ?? []), ...tags])];
    for (const tag of tags) {
      let keys = this.tagIndex.get(tag);
      if (!keys) this.tagIndex.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  invalidateTag(tag: string): number {
    let removed = 0;
    for (const key of [...(this.tagIndex.get(tag) ?? [])]) if (this.remove(key)) removed++;
    this.tagIndex.delete(tag);
    return removed;
  }

  invalidatePrefix(prefix: string): number {
    let removed = 0;
    for (const key of [...this.entries.keys()])
      if (key.startsWith(prefix) && this.remove(key)) removed++;
    return removed;
  }

  /** Drops expired entries so counts and bytes describe live data. */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.entries)
      if (entry.expires !== 0 && entry.expires <= now) this.remove(key);
  }

  size(): number {
    return this.entries.size;
  }

  usedBytes(): number {
    return this.bytes;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expires !== 0 && entry.expires <= Date.now()) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  private remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
    for (const tag of entry.tags ?? []) {
      const keys = this.tagIndex.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.tagIndex.delete(tag);
    }
    return true;
  }
}

/** The `memory` provider: one LRU store per app, swept of expired entries on an interval. */
export function createMemoryBackend(
  options: MemoryStoreOptions & { sweepInterval: number },
): CacheBackend {
  const store = new MemoryLruStore(options);
  const sweeper = setInterval(() => store.sweep(), options.sweepInterval);
  sweeper.unref();
  return {
    provider: 'memory',
    // Keyv's adapter type is generic over values; this store holds the strings Keyv serializes.
    store: store as unknown as KeyvStoreAdapter,
    remote: false,
    description: 'memory',
    tag: async (key, tags) => store.tag(key, tags),
    invalidateTag: async (tag) => store.invalidateTag(tag),
    invalidatePrefix: async (prefix) => store.invalidatePrefix(prefix),
    clear: () => store.clear(),
    count: async () => {
      store.sweep();
      return { entries: store.size(), capped: false };
    },
    usedBytes: async () => store.usedBytes(),
    evictions: () => store.evicted,
    ping: async () => undefined,
    available: () => true,
    reset: async () => undefined,
    close: async () => {
      clearInterval(sweeper);
      await store.clear();
    },
  };
}
