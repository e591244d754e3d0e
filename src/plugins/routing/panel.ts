import type { UIContribution } from '../../core/ui.js';

const ROUTES_REFRESH_MS = 5_000;

/**
 * The routes and their upstreams, on the Services page it shares with the services plugin (the
 * processes it runs), above them.
 */
export const routingPanel: UIContribution = {
  pages: [
    {
      id: 'services',
      title: 'Services',
      route: '/services',
      icon: 'server',
      order: 60,
      shared: true,
      viewOrder: 60,
      views: [
        {
          kind: 'table',
          title: 'Routes and upstreams',
          endpoint: '/api/routing/routes',
          rowsPath: 'routes',
          refreshMs: ROUTES_REFRESH_MS,
          columns: [
            { key: 'id', label: 'Route' },
            { key: 'match', label: 'Match' },
            { key: 'kind', label: 'Kind' },
            { key: 'target', label: 'Target' },
            { key: 'health.status', label: 'Upstream', format: 'status' },
            { key: 'health.latencyMs', label: 'Latency', format: 'duration' },
            { key: 'health.checkedAt', label: 'Checked', format: 'date' },
          ],
        },
      ],
    },
  ],
};
