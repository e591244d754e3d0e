import { z } from 'zod';
import { formView, type UIContribution, type UIView } from '../../core/ui.js';

const REFRESH_MS = 10_000;

/** With provider sync: the last sync's report and a "Sync now" button. */
function syncViews(basePath: string): UIView[] {
  return [
    {
      kind: 'actions',
      title: 'Provider sync',
      actions: [
        {
          label: 'Sync now',
          endpoint: `${basePath}/sync`,
          method: 'POST',
          confirm: "Copy the provider's users now?",
        },
      ],
    },
    {
      kind: 'keyValue',
      title: 'Last sync',
      endpoint: `${basePath}/sync`,
      path: 'report',
      refreshMs: REFRESH_MS,
      fields: [
        { path: 'status', label: 'Status', format: 'status' },
        { path: 'finishedAt', label: 'Finished', format: 'date' },
        { path: 'created', label: 'Created' },
        { path: 'updated', label: 'Updated' },
        { path: 'disabled', label: 'Disabled' },
        { path: 'unchanged', label: 'Unchanged' },
        { path: 'failed', label: 'Failed' },
        { path: 'error', label: 'Error' },
      ],
    },
  ];
}

/**
 * The Users page: a search form (its answer is the matching users), the first users as cards
 * with disable, enable and delete on each, and a table of the same page; with provider sync
 * also a "Sync now" button and the last sync's report.
 */
export function usersPanel(basePath: string, sync = false): UIContribution {
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
          ...(sync ? syncViews(basePath) : []),
        ],
      },
    ],
  };
}
