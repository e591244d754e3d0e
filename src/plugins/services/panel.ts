import type { UIContribution } from '../../core/ui.js';

const PROCESSES_REFRESH_MS = 5_000;

/**
 * The local processes, on the Services page it shares with the routing plugin; `viewOrder` puts
 * this view after the routes when both plugins are there.
 */
export const servicesPanel: UIContribution = {
  pages: [
    {
      id: 'services',
      title: 'Services',
      route: '/services',
      icon: 'server',
      order: 60,
      shared: true,
      viewOrder: 61,
      views: [
        {
          kind: 'table',
          title: 'Local processes',
          endpoint: '/api/services',
          rowsPath: 'services',
          refreshMs: PROCESSES_REFRESH_MS,
          columns: [
            { key: 'name', label: 'Service' },
            { key: 'state', label: 'State', format: 'status' },
            { key: 'pid', label: 'PID' },
            { key: 'restarts', label: 'Restarts', format: 'number' },
            { key: 'startedAt', label: 'Started', format: 'date' },
          ],
        },
      ],
    },
  ],
};
