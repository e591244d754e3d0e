import { z } from 'zod';
import { formView, type UIContribution } from '../../core/ui.js';

const REFRESH_MS = 10_000;

/**
 * The Users page: a search form (its answer is the matching users), the first users as cards
 * with disable, enable and delete on each, and a table of the same page.
 */
export function usersPanel(basePath: string): UIContribution {
  return {
    pages: [
      {
        id: 'users',
        title: 'Users',
        route: '/users',
        icon: 'users',
        order: 60,
        views: [
          formView(
            z.object({
              q: z.string().max(255).describe('Email or name contains'),
              sort: z.enum(['createdAt', 'email', 'name']).optional(),
            }),
            `${basePath}/search`,
            { title: 'Search users', submitLabel: 'Search' },
          ),
          {
            kind: 'cards',
            title: 'Users',
            endpoint: `${basePath}?limit=100`,
            itemsPath: 'users',
            titleKey: 'email',
            colourKey: 'status',
            badgeKey: 'status',
            refreshMs: REFRESH_MS,
            fields: [
              { path: 'name', label: 'Name' },
              { path: 'id', label: 'Id' },
              { path: 'createdAt', label: 'Created', format: 'date' },
            ],
            actions: [
              {
                label: 'Disable',
                endpoint: `${basePath}/{id}/disable`,
                method: 'POST',
                confirm: 'Disable {email} and end their sessions now?',
                when: { key: 'status', in: ['active'] },
              },
              {
                label: 'Enable',
                endpoint: `${basePath}/{id}/enable`,
                method: 'POST',
                when: { key: 'status', in: ['disabled'] },
              },
              {
                label: 'Delete',
                endpoint: `${basePath}/{id}`,
                method: 'DELETE',
                destructive: true,
                confirm: 'Delete {email} for good?',
              },
            ],
          },
          {
            kind: 'table',
            title: 'All users (first 100, newest first)',
            endpoint: `${basePath}?limit=100&order=desc`,
            rowsPath: 'users',
            refreshMs: REFRESH_MS,
            columns: [
              { key: 'email', label: 'Email' },
              { key: 'name', label: 'Name' },
              { key: 'status', label: 'Status', format: 'status' },
              { key: 'createdAt', label: 'Created', format: 'date' },
              { key: 'id', label: 'Id' },
            ],
          },
        ],
      },
    ],
  };
}
