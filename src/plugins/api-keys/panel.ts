import type { UIContribution } from '../../core/ui.js';

const REFRESH_MS = 10_000;

/**
 * The API keys page: each key as a card (revoke on the active ones) and a table of every key with
 * its scopes and times. Keys are created through `POST <basePath>` only, whose answer is the one
 * place a key is ever shown.
 */
export function apiKeysPanel(basePath: string): UIContribution {
  return {
    pages: [
      {
        id: 'api-keys',
        title: 'API keys',
        route: '/api-keys',
        icon: 'settings',
        order: 65,
        views: [
          {
            kind: 'cards',
            title: 'Keys',
            endpoint: basePath,
            itemsPath: 'keys',
            titleKey: 'name',
            colourKey: 'status',
            badgeKey: 'status',
            refreshMs: REFRESH_MS,
            fields: [
              { path: 'prefix', label: 'Prefix' },
              { path: 'lastUsedAt', label: 'Last used', format: 'date' },
              { path: 'expiresAt', label: 'Expires', format: 'date' },
            ],
            actions: [
              {
                label: 'Revoke',
                endpoint: `${basePath}/{id}`,
                method: 'DELETE',
                destructive: true,
                confirm: 'Revoke {name} ({prefix})? Every instance refuses it at once.',
                when: { key: 'status', in: ['active'] },
              },
            ],
          },
          {
            kind: 'table',
            title: 'All keys, newest first',
            endpoint: basePath,
            rowsPath: 'keys',
            refreshMs: REFRESH_MS,
            columns: [
              { key: 'name', label: 'Name' },
              { key: 'prefix', label: 'Prefix' },
              { key: 'status', label: 'Status', format: 'status' },
              { key: 'scopes', label: 'Scopes' },
              { key: 'tenantId', label: 'Tenant' },
              { key: 'createdAt', label: 'Created', format: 'date' },
              { key: 'lastUsedAt', label: 'Last used', format: 'date' },
              { key: 'revokedAt', label: 'Revoked', format: 'date' },
            ],
          },
        ],
      },
    ],
  };
}
