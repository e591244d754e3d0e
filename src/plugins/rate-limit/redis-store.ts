import type { Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import { maskUrlPassword } from '../../core/masking.js';
import { errorMessage } from '../../core/errors.js';
import type { RedisStoreConfig } from './options.js';

/** Longest pause between two reconnection attempts, in milliseconds. */
const MAX_RECONNECT_DELAY = 2_000;

/** One Redis connection shared by the stores of every rule. */
export interface RedisLimitStores {
  storeFor(rule: string): Store;
  ping(): Promise<void>;
  close(): Promise<void>;
}

async function importDrivers() {
  try {
    const [client, store] = await Promise.all([
      import('@redis/client'),
      import('rate-limit-redis'),
    ]);
    return { createClient: client.createClient, RedisStore: store.RedisStore };
  } catch (error) {
    throw new Error(
      'The Redis rate-limit store needs the packages "rate-limit-redis" and "@redis/client": npm install rate-limit-redis @redis/client',
      { cause: error },
    );
  }
}

/**
 * Connects to Redis (failing start-up with the reason when it cannot within `connectTimeout`).
 * Commands are not queued while disconnected, so a Redis outage fails fast and `failOpen`
 * decides, instead of requests hanging until Redis is back.
 */
export async function openRedisStores(
  config: RedisStoreConfig,
  logger: Logger,
): Promise<RedisLimitStores> {
  const { createClient, RedisStore } = await importDrivers();
  const where = maskUrlPassword(config.redis);
  const client = createClient({
    url: config.redis,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: config.connectTimeout,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY),
    },
  });
  let lastError: unknown;
  let down = false;
  // Without a listener a connection error would crash the process; log once per outage.
  client.on('error', (error: unknown) => {
    lastError = error;
    if (!down) logger.warn({ err: error, redis: where }, 'rate limit store: Redis connection lost');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({ redis: where }, 'rate limit store: Redis connection restored');
    down = false;
  });

  const connecting = client.connect();
  connecting.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connecting,
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no connection within ${config.connectTimeout} ms`)),
          config.connectTimeout,
        );
      }),
    ]);
  } catch (error) {
    await client.disconnect().catch(() => undefined);
    throw new Error(
      `Rate limit store: cannot reach Redis at ${where}: ${errorMessage(lastError ?? error)}. Check REDIS_URL or the store option.`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }

  class ResilientRedisStore extends RedisStore {
    // The library caches a failed script load as a rejected promise, which would fail every
    // later request even after Redis is back; reload it after a failure instead.
    override async increment(key: string) {
      try {
        return await super.increment(key);
      } catch (error) {
        const reload = this.incrementScriptSha.catch(() => this.loadIncrementScript());
        reload.catch(() => undefined);
        this.incrementScriptSha = reload;
        throw error;
      }
    }
  }

  return {
    storeFor: (rule) =>
      new ResilientRedisStore({
        prefix: `${config.prefix}${rule}:`,
        sendCommand: (...args: string[]) => client.sendCommand(args) as Promise<never>,
      }),
    async ping() {
      await client.ping();
    },
    async close() {
      // QUIT waits for a reply that never comes while Redis is unreachable; just drop the socket then.
      if (client.isReady) await client.quit().catch(() => undefined);
      else await client.disconnect().catch(() => undefined);
    },
  };
}
