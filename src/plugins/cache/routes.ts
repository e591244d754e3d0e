import type { RouteDefinition } from '../../core/plugin.js';
import type { Cache } from './types.js';

/** The control panel's view of the cache; both are management endpoints behind the admin guard. */
export function cacheRoutes(cache: () => Cache): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/cache/stats',
      access: 'admin',
      permission: 'cache:read',
      description:
        'Cache statistics: hits, misses, hit rate, entries, memory, get latency percentiles',
      handler: async (_req, res) => {
        res.set('cache-control', 'no-store').json(await cache().stats());
      },
    },
    {
      method: 'post',
      path: '/api/cache/flush',
      access: 'admin',
      permission: 'cache:flush',
      description: "Removes every entry of this app's cache namespace",
      handler: async (_req, res) => {
        const target = cache();
        await target.clear();
        res.json({ flushed: true, provider: target.provider, namespace: target.namespace });
      },
    },
  ];
}
