import { z } from 'zod';
import { formView, type UIContribution } from '../../core/ui.js';

/** The Roles page: each role's grants and inheritance, and the "why" form. */
export function rolesPanel(basePath: string): UIContribution {
  const why = z.object({
    user: z.string().min(1).describe('User id (jwt|alice)'),
    permission: z.string().min(1).describe('Permission (write:content)'),
    roles: z.string().optional().describe('Roles to add, comma-separated'),
  });
  return {
    pages: [
      {
        id: 'roles',
        title: 'Roles',
        route: '/roles',
        icon: 'users',
        order: 46,
        views: [
          {
            kind: 'table',
            title: 'Roles',
            endpoint: basePath,
            rowsPath: 'roles',
            columns: [
              { key: 'name', label: 'Role' },
              { key: 'inherits', label: 'Inherits', format: 'json' },
              { key: 'grants', label: 'Grants', format: 'json' },
              { key: 'effective', label: 'Effective grants', format: 'json' },
              { key: 'assigned', label: 'Assigned users', format: 'number' },
            ],
          },
          formView(why, `${basePath}/explain`, {
            method: 'POST',
            title: 'Why?',
            submitLabel: 'Explain',
          }),
        ],
      },
    ],
  };
}
