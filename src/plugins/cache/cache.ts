import { Keyv } from 'keyv';
import type { Logger } from 'pino';
import { durationExpected, toMilliseconds, type Duration } from '../../core/duration.js';
import { HttpError, errorMessage } from '../../core/errors.js';
import type { CacheBackend } from './backend.js';
import { TTL_RULES, type CacheConfig, type CacheProvider } from './options.js';
import { assertJsonSafe } from './json-safe.js';
import { CacheCounters, LatencyRing } from './stats.js';
import type { Cache, CacheSetOptions, CacheStats } from './types.js';

const MAX_KEY_LENGTH = 1_024;

class CacheTimeoutError extends Error {}

/** One load in flight for a key; `stale` once the key is invalidated while loading. */
interface Flight {
  promise: Promise<unknown>;
  stale: boolean;
}

/** Reads Keyv's stored record (`{ value, expires }`) the way `Keyv.get` does. */
function decodeRecord<T>(raw: string | null): T | undefined {
  if (raw === null) return undefined;
  const record = JSON.parse(raw) as { value: T; expires?: number | null };
  return typeof record.expires === 'number' && Date.now() > record.expires
    ? undefined
    : record.value;
}

function invalid(message: string): HttpError {
  return new HttpError(500, 'CACHE_INVALID_ARGUMENT', message);
}

function checkKey(key: unknown, what = 'key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw invalid(
      `Cache ${what} must be a non-empty string of at most ${MAX_KEY_LENGTH} characters (got ${typeof key === 'string' ? `${key.length} characters` : typeof key}).`,
    );
  }
}

/**
 * The `Cache` service: Keyv for storage, TTL and serialization, the backend for invalidation and
 * statistics, and the policies around both (single-flight loads, JSON-safety, fail-open).
 */
export class KeyvCache implements Cache {
  readonly provider: CacheProvider;
  readonly namespace: string;
  private readonly keyv: Keyv;
  private readonly counters = new CacheCounters();
  private readonly latency: LatencyRing;
  private readonly flights = new Map<string, Flight>();
  private lastErrorLogAt = 0;
  private suppressedErrors = 0;
  /** Calls waiting on the store, and when one last finished (or the first began); see `watch`. */
  private pending = 0;
  private lastProgress = 0;
  private readonly watchdog?: NodeJS.Timeout;

  constructor(
    private readonly backend: CacheBackend,
    private readonly config: CacheConfig,
    private readonly logger: Logger,
  ) {
    this.provider = backend.provider;
    this.namespace = config.namespace;
    this.latency = new LatencyRing(config.latencySamples);
    // Values are checked JSON-safe before they reach Keyv, so plain JSON (faster than Keyv's
    // default serializer) round-trips them exactly. Errors are thrown to us, never emitted.
    this.keyv = new Keyv({
      store: backend.store,
      namespace: config.namespace,
      useKeyPrefix: false,
      serialize: JSON.stringify,
      deserialize: JSON.parse,
      throwOnErrors: true,
      emitErrors: false,
    });
    if (backend.remote) {
      this.watchdog = setInterval(
        () => this.watch(),
        Math.max(10, Math.floor(config.timeouts.operation / 4)),
      );
      this.watchdog.unref();
    }
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    checkKey(key);
    const started = performance.now();
    let value: T | undefined;
    if (this.pending++ === 0) this.lastProgress = started;
    try {
      value = this.backend.read
        ? decodeRecord<T>(await this.backend.read(key))
        : await this.keyv.get<T>(key);
    } catch (error) {
      const fallback = this.failed('get', key, error, undefined);
      this.counters.misses++;
      return fallback;
    } finally {
      this.pending--;
      this.lastProgress = performance.now();
    }
    this.latency.record(this.lastProgress - started);
    if (value === undefined) this.counters.misses++;
    else this.counters.hits++;
    return value;
  }

  async set(key: string, value: unknown, options?: Duration | CacheSetOptions): Promise<void> {
    checkKey(key);
    const { ttl, tags } = this.entryOptions(options);
    assertJsonSafe(key, value);
    try {
      await this.tracked(() => this.keyv.set(key, value, ttl === 0 ? undefined : ttl));
      if (tags.length > 0) await this.tracked(() => this.backend.tag(key, tags, ttl));
      this.counters.sets++;
    } catch (error) {
      this.failed('set', key, error, undefined);
    }
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    this.markStale(key);
    try {
      const removed = await this.tracked(() => this.keyv.delete(key));
      if (removed) this.counters.deletes++;
      return removed;
    } catch (error) {
      return this.failed('delete', key, error, false);
    }
  }

  async has(key: string): Promise<boolean> {
    checkKey(key);
    try {
      return await this.tracked(() => this.keyv.has(key));
    } catch (error) {
      return this.failed('has', key, error, false);
    }
  }

  getOrSet<T>(
    key: string,
    loader: () => T | Promise<T>,
    options?: Duration | CacheSetOptions,
  ): Promise<T> {
    // Not async (joiners must get the very same promise), so refusals are turned into rejections here.
    try {
      checkKey(key);
      if (typeof loader !== 'function')
        throw invalid(`getOrSet("${key}") needs a loader function.`);
    } catch (error) {
      return Promise.reject(error);
    }
    const running = this.flights.get(key);
    if (running) {
      this.counters.coalesced++;
      return running.promise as Promise<T>;
    }
    const flight: Flight = { promise: Promise.resolve(), stale: false };
    flight.promise = (async () => {
      try {
        const cached = await this.get<T>(key);
        if (cached !== undefined) return cached;
        const value = await loader();
        // Written only if nobody invalidated the key meanwhile, so a delete is never undone by an older load.
        if (value !== undefined && !flight.stale) await this.set(key, value, options);
        return value;
      } finally {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }
    })();
    this.flights.set(key, flight);
    return flight.promise as Promise<T>;
  }

  async invalidatePrefix(prefix: string): Promise<number> {
    checkKey(prefix, 'prefix');
    this.markStale();
    try {
      const removed = await this.guard(
        this.backend.invalidatePrefix(prefix),
        'invalidatePrefix',
        this.config.timeouts.bulk,
      );
      this.counters.deletes += removed;
      return removed;
    } catch (error) {
      return this.failed('invalidatePrefix', prefix, error, 0);
    }
  }

  async invalidateTag(tag: string): Promise<number> {
    checkKey(tag, 'tag');
    this.markStale();
    try {
      const removed = await this.guard(
        this.backend.invalidateTag(tag),
        'invalidateTag',
        this.config.timeouts.bulk,
      );
      this.counters.deletes += removed;
      return removed;
    } catch (error) {
      return this.failed('invalidateTag', tag, error, 0);
    }
  }

  /** Unlike reads and writes, a clear that did not happen is reported: callers rely on it. */
  async clear(): Promise<void> {
    this.markStale();
    try {
      await this.guard(this.backend.clear(), 'clear', this.config.timeouts.bulk);
    } catch (error) {
      this.counters.errors++;
      throw this.unavailable('clear', error);
    }
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.guard(this.backend.ping(), 'ping');
    return Math.round((performance.now() - started) * 1000) / 1000;
  }

  isAvailable(): boolean {
    return this.backend.available();
  }

  async stats(): Promise<CacheStats> {
    const available = this.backend.available();
    const optional = <T>(work: () => Promise<T>) =>
      available ? this.guard(work(), 'stats').catch(() => null) : Promise.resolve(null);
    const [count, usedBytes] = await Promise.all([
      optional(() => this.backend.count(this.config.statsScanLimit)),
      optional(() => this.backend.usedBytes()),
    ]);
    const { rss, heapUsed } = process.memoryUsage();
    const c = this.counters;
    return {
      provider: this.provider,
      namespace: this.namespace,
      available,
      hits: c.hits,
      misses: c.misses,
      hitRate: c.hitRate(),
      sets: c.sets,
      deletes: c.deletes,
      errors: c.errors,
      evictions: this.backend.evictions(),
      coalesced: c.coalesced,
      entries: count?.entries ?? null,
      entriesCapped: count?.capped ?? false,
      memory: {
        usedBytes,
        ...(this.provider === 'memory' ? { maxBytes: this.config.maxBytes } : {}),
        process: { rss, heapUsed },
      },
      latency: this.latency.percentiles(),
      since: c.since,
    };
  }

  close(): Promise<void> {
    clearInterval(this.watchdog);
    return this.backend.close();
  }

  private entryOptions(options: Duration | CacheSetOptions | undefined): {
    ttl: number;
    tags: string[];
  } {
    const given =
      typeof options === 'number' || typeof options === 'string'
        ? { ttl: options }
        : (options ?? {});
    // The same reading as the plugin's `ttl` option: a bare number is seconds.
    const ttl = given.ttl === undefined ? this.config.ttl : toMilliseconds(given.ttl, TTL_RULES);
    if (ttl === undefined)
      throw invalid(
        `Cache ttl must be ${durationExpected(TTL_RULES)}; 0 keeps the entry (got ${JSON.stringify(given.ttl)}).`,
      );
    const tags = given.tags ?? [];
    for (const tag of tags) checkKey(tag, 'tag');
    return { ttl, tags };
  }

  private markStale(key?: string): void {
    for (const [flightKey, flight] of this.flights) {
      if (key !== undefined && flightKey !== key) continue;
      flight.stale = true;
      this.flights.delete(flightKey);
    }
  }

  /** Counts a single-key call for the watchdog; cheaper than a timer per call on the hot path. */
  private async tracked<T>(work: () => Promise<T>): Promise<T> {
    if (this.pending++ === 0) this.lastProgress = performance.now();
    try {
      return await work();
    } finally {
      this.pending--;
      this.lastProgress = performance.now();
    }
  }

  /**
   * A Redis connection answers in order, so when calls are waiting and none finished for the
   * operation timeout, the oldest has waited that long: the server stopped answering without
   * closing the socket. Resetting the connection fails every waiting call at once (served soft
   * or as 503) and reconnects, instead of a timer per call.
   */
  private watch(): void {
    const timeout = this.config.timeouts.operation;
    if (this.pending === 0 || performance.now() - this.lastProgress <= timeout) return;
    this.lastProgress = performance.now();
    this.logger.warn(
      { store: this.backend.description, pending: this.pending, timeout },
      'cache store stopped answering; resetting the connection',
    );
    this.backend
      .reset()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'cache connection reset failed'));
  }

  /** Bulk and occasional calls get their own deadline: a server that stops answering must not hang them. */
  private guard<T>(
    work: Promise<T>,
    operation: string,
    timeout = this.config.timeouts.operation,
  ): Promise<T> {
    if (!this.backend.remote) return work;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CacheTimeoutError(`${operation} timed out after ${timeout} ms`)),
        timeout,
      );
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Our own refusals propagate; store failures are counted, then served soft or thrown as 503. */
  private failed<T>(operation: string, key: string, error: unknown, fallback: T): T {
    if (error instanceof HttpError) throw error;
    this.counters.errors++;
    if (!this.config.failOpen) throw this.unavailable(operation, error);
    const now = Date.now();
    if (now - this.lastErrorLogAt >= this.config.errorLogInterval) {
      this.logger.warn(
        {
          err: error,
          operation,
          key,
          store: this.backend.description,
          suppressed: this.suppressedErrors,
        },
        'cache operation failed; served as a miss',
      );
      this.lastErrorLogAt = now;
      this.suppressedErrors = 0;
    } else {
      this.suppressedErrors++;
    }
    return fallback;
  }

  private unavailable(operation: string, error: unknown): HttpError {
    return new HttpError(
      503,
      'CACHE_UNAVAILABLE',
      `The cache (${this.backend.description}) is unavailable: ${operation} failed: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
}
