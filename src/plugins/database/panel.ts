import type { UIContribution } from '../../core/ui.js';

const CONNECTION_REFRESH_MS = 5_000;

/** The Database page: the connection and its pool, then the migrations applied. */
export const databasePanel: UIContribution = {
  pages: [
    {
      id: 'database',
      title: 'Database',
      route: '/database',
      icon: 'database',
      order: 50,
      views: [
        {
          kind: 'keyValue',
          title: 'Connection',
          endpoint: '/api/database',
          refreshMs: CONNECTION_REFRESH_MS,
          fields: [
            { path: 'provider', label: 'Provider' },
            { path: 'dialect', label: 'Dialect' },
            { path: 'pool.total', label: 'Connections', format: 'number' },
            { path: 'pool.idle', label: 'Idle', format: 'number' },
            { path: 'pool.waiting', label: 'Waiting', format: 'number' },
          ],
        },
        {
          kind: 'table',
          title: 'Applied migrations',
          endpoint: '/api/database',
          rowsPath: 'migrations',
          columns: [
            { key: 'name', label: 'Migration' },
            { key: 'plugin', label: 'Plugin' },
            { key: 'appliedAt', label: 'Applied', format: 'date' },
          ],
        },
      ],
    },
  ],
};
