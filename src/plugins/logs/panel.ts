import type { UIContribution } from '../../core/ui.js';

/** The Logs page: pages of the log file, newest first, then the live tail over SSE. */
export const logsPanel: UIContribution = {
  pages: [
    {
      id: 'logs',
      title: 'Logs',
      route: '/logs',
      icon: 'list',
      order: 30,
      views: [{ kind: 'logStream', endpoint: '/api/logs', streamEndpoint: '/api/logs/stream' }],
    },
  ],
};
