import type { Logger } from 'pino';
import type { CacheBackend } from './backend.js';
import { KeyvCache } from './cache.js';
import type { CacheConfig } from './options.js';

/**
 * Opens the configured store and wraps it in the `Cache` service. Loaded lazily by the plugin,
 * and each provider's driver only when chosen, so importing the plugins module stays light.
 */
export async function openCache(config: CacheConfig, logger: Logger): Promise<KeyvCache> {
  return new KeyvCache(await openBackend(config, logger), config, logger);
}

async function openBackend(config: CacheConfig, logger: Logger): Promise<CacheBackend> {
  switch (config.provider) {
    case 'memory': {
      const { createMemoryBackend } = await import('./memory-store.js');
      return createMemoryBackend({
        maxEntries: config.maxEntries,
        maxBytes: config.maxBytes,
        sweepInterval: config.sweepInterval,
      });
    }
    case 'sqlite': {
      const { createSqliteBackend } = await import('./sqlite-store.js');
      return createSqliteBackend({
        path: config.path,
        namespace: config.namespace,
        busyTimeout: config.timeouts.operation,
        sweepInterval: config.sweepInterval,
      });
    }
    case 'redis': {
      const { createRedisBackend } = await import('./redis-backend.js');
      return createRedisBackend(
        {
          url: config.url ?? 'redis://127.0.0.1:6379',
          namespace: config.namespace,
          connectTimeout: config.timeouts.connect,
          reconnect: config.reconnect,
          requireConnection: !config.failOpen,
          errorLogInterval: config.errorLogInterval,
        },
        logger,
      );
    }
  }
}
