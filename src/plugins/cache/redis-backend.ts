import KeyvRedis, { createClient } from '@keyv/redis';
import type { KeyvStoreAdapter } from 'keyv';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.js';
import type { CacheBackend } from './backend.js';
import { redisAddress } from './options.js';

type RedisClient = ReturnType<typeof createClient>;

export interface RedisBackendOptions {
  url: string;
  namespace: string;
  connectTimeout: number;
  reconnect: { minDelay: number; maxDelay: number };
  /** Throw at start-up when the first connection fails, instead of starting degraded. */
  requireConnection: boolean;
  errorLogInterval: number;
}

/** Keeps the tag set alive as long as its longest-lived member, so tag indexes never outlive their keys for good. */
const TAG_SCRIPT = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl == 0 then redis.call('PERSIST', KEYS[1]) return added end
local current = redis.call('PTTL', KEYS[1])
if current == -1 and redis.call('SCARD', KEYS[1]) > 1 then return added end
if current < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return added`;

const UNLINK_BATCH = 500;
const SCAN_COUNT = 1_000;
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The `redis` provider on @keyv/redis and its client, node-redis. Keys are `<namespace>::<key>`
 * (the adapter's layout); tag indexes are sets at `<namespace>:#tag:<tag>`, outside that pattern.
 * The offline queue is disabled so commands fail at once while disconnected instead of piling
 * up, and the client reconnects by itself with capped exponential backoff.
 */
export async function createRedisBackend(
  options: RedisBackendOptions,
  logger: Logger,
): Promise<CacheBackend> {
  const address = redisAddress(options.url);
  const { minDelay, maxDelay } = options.reconnect;
  const client: RedisClient = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeout,
      reconnectStrategy: (retries: number) => {
        const delay = Math.min(maxDelay, minDelay * 2 ** Math.min(retries, 20));
        return Math.round(delay * (0.9 + Math.random() * 0.2));
      },
    },
  });

  let lastError: unknown;
  let lost = false;
  let closed = false;
  let lastLogAt = 0;
  let suppressed = 0;
  // node-redis emits 'error' on every failed attempt; without a listener the process would crash.
  client.on('error', (error: unknown) => {
    lastError = error;
    const now = Date.now();
    if (now - lastLogAt < options.errorLogInterval) {
      suppressed++;
      return;
    }
    logger.warn({ err: error, redis: address, suppressed }, 'redis connection error');
    lastLogAt = now;
    suppressed = 0;
  });
  client.on('end', () => void (lost = true));
  client.on('reconnecting', () => {
    if (!lost) logger.warn({ redis: address }, 'redis connection lost; reconnecting');
    lost = true;
  });
  client.on('ready', () => {
    if (lost) logger.info({ redis: address }, 'redis connection restored');
    lost = false;
  });

  const connecting = client.connect().then(
    () => true,
    () => false,
  );
  let timer: NodeJS.Timeout | undefined;
  const connected = await Promise.race([
    connecting,
    new Promise<false>(
      (resolve) => (timer = setTimeout(() => resolve(false), options.connectTimeout)),
    ),
  ]);
  clearTimeout(timer);
  if (!connected) {
    const reason =
      lastError === undefined
        ? `no answer within ${options.connectTimeout} ms`
        : errorMessage(lastError);
    if (options.requireConnection) {
      await client.disconnect().catch(() => undefined);
      throw new Error(
        `Redis at ${address} is not reachable (${reason}); check the cache url (REDIS_URL) and that the server is running.`,
      );
    }
    logger.warn(
      { redis: address, reason },
      'redis not reachable at start-up; the cache serves misses until it connects',
    );
    lost = true;
  }

  const reset = async () => {
    if (closed || !client.isOpen) return;
    lost = true;
    await client.disconnect().catch(() => undefined);
    if (!closed) client.connect().catch(() => undefined);
  };

  // node-redis has no deadline on its connection handshake: a server that accepts the socket but
  // never answers leaves the client "connecting" for good. Events mark progress; none for longer
  // than a connect timeout plus the longest backoff means stalled, so start over.
  let lastEventAt = Date.now();
  for (const event of ['connect', 'ready', 'error', 'reconnecting', 'end'])
    client.on(event, () => void (lastEventAt = Date.now()));
  const stallLimit = options.connectTimeout + maxDelay;
  const stallWatch = setInterval(
    () => {
      if (closed || !client.isOpen || client.isReady || Date.now() - lastEventAt < stallLimit)
        return;
      logger.warn(
        { redis: address, stalledMs: Date.now() - lastEventAt },
        'redis connection stalled before ready; reconnecting',
      );
      lastEventAt = Date.now();
      void reset();
    },
    Math.max(50, Math.floor(stallLimit / 4)),
  );
  stallWatch.unref();

  const ns = options.namespace;
  // The adapter's constructor type names a narrower client generic than createClient returns.
  const store = new KeyvRedis(client as ConstructorParameters<typeof KeyvRedis>[0], {
    namespace: ns,
    throwErrors: true,
    throwOnConnectError: true,
    useUnlink: true,
  });
  const entryKey = (key: string) => `${ns}::${key}`;
  const tagKey = (tag: string) => `${ns}:#tag:${tag}`;

  const unlinkAll = async (
    keys: AsyncIterable<string>,
    map: (key: string) => string = (key) => key,
  ): Promise<number> => {
    let removed = 0;
    let batch: string[] = [];
    for await (const key of keys) {
      batch.push(map(key));
      if (batch.length >= UNLINK_BATCH) {
        removed += await client.unlink(batch);
        batch = [];
      }
    }
    if (batch.length > 0) removed += await client.unlink(batch);
    return removed;
  };

  return {
    provider: 'redis',
    store: store as unknown as KeyvStoreAdapter,
    remote: true,
    description: `redis ${address}`,
    read: (key) => client.get(entryKey(key)),
    tag: async (key, tags, ttl) => {
      await Promise.all(
        tags.map((tag) =>
          client.eval(TAG_SCRIPT, { keys: [tagKey(tag)], arguments: [key, String(ttl)] }),
        ),
      );
    },
    invalidateTag: async (tag) => {
      const removed = await unlinkAll(
        client.sScanIterator(tagKey(tag), { COUNT: SCAN_COUNT }),
        entryKey,
      );
      await client.unlink(tagKey(tag));
      return removed;
    },
    // SCAN walks the keyspace in steps, so a large namespace never blocks the server as KEYS would.
    invalidatePrefix: (prefix) =>
      unlinkAll(client.scanIterator({ MATCH: `${ns}::${escapeGlob(prefix)}*`, COUNT: SCAN_COUNT })),
    clear: async () => {
      await unlinkAll(client.scanIterator({ MATCH: `${ns}::*`, COUNT: SCAN_COUNT }));
      await unlinkAll(client.scanIterator({ MATCH: `${ns}:#tag:*`, COUNT: SCAN_COUNT }));
    },
    count: async (limit) => {
      let entries = 0;
      for await (const _key of client.scanIterator({ MATCH: `${ns}::*`, COUNT: SCAN_COUNT })) {
        if (++entries >= limit) return { entries, capped: true };
      }
      return { entries, capped: false };
    },
    usedBytes: async () => {
      const match = /^used_memory:(\d+)/m.exec(await client.info('memory'));
      return match ? Number(match[1]) : null;
    },
    evictions: () => 0,
    ping: async () => void (await client.ping()),
    available: () => client.isReady,
    reset,
    close: async () => {
      closed = true;
      clearInterval(stallWatch);
      connecting.catch(() => undefined);
      if (client.isReady) await client.quit().catch(() => client.disconnect());
      else if (client.isOpen) await client.disconnect().catch(() => undefined);
    },
  };
}
