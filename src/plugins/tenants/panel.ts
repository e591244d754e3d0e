import type { UIContribution } from '../../core/ui.js';

const REFRESH_MS = 10_000;

/**
 * The Tenants page: every tenant that has members, with how many. Members are added and removed
 * through `PUT|DELETE <basePath>/:tenant/members/:userId`.
 */
export function tenantsPanel(basePath: string): UIContribution {
  return {
    pages: [
      {
        id: 'tenants',
        title: 'Tenants',
        route: '/tenants',
        icon: 'settings',
        order: 67,
        views: [
          {
            kind: 'table',
            title: 'Tenants and their members',
            endpoint: basePath,
            rowsPath: 'tenants',
            refreshMs: REFRESH_MS,
            columns: [
              { key: 'tenantId', label: 'Tenant' },
              { key: 'members', label: 'Members' },
            ],
          },
        ],
      },
    ],
  };
}
