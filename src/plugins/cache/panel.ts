import type { UIContribution } from '../../core/ui.js';

const STATS_REFRESH_MS = 5_000;

/** The Cache page: the store's statistics and a flush button (both routes are `admin`). */
export const cachePanel: UIContribution = {
  pages: [
    {
      id: 'cache',
      title: 'Cache',
      route: '/cache',
      icon: 'zap',
      order: 40,
      views: [
        {
          kind: 'keyValue',
          title: 'Statistics',
          endpoint: '/api/cache/stats',
          refreshMs: STATS_REFRESH_MS,
        },
        {
          kind: 'actions',
          title: 'Maintenance',
          actions: [
            {
              label: 'Flush cache',
              endpoint: '/api/cache/flush',
              method: 'POST',
              destructive: true,
              confirm: 'Remove every entry from the cache?',
            },
          ],
        },
      ],
    },
  ],
};
