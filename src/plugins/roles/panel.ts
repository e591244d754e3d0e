import { z } from 'zod';
import { formView, type UIContribution, type UIView } from '../../core/ui.js';

const REFRESH_MS = 10_000;

/** What changes stored roles: shown only with `storage: 'database'`. */
function editViews(basePath: string): UIView[] {
  const role = z.object({
    name: z.string().min(1).describe('Role name (editor)'),
    description: z.string().optional().describe('Description'),
    grants: z.string().optional().describe('Grants, comma-separated (read:*, write:content)'),
    inherits: z.string().optional().describe('Inherits, comma-separated role names'),
    replace: z.boolean().optional().describe('Replace the role if it exists'),
  });
  const assignment = z.object({
    user: z.string().min(1).describe('User id (jwt|alice)'),
    role: z.string().min(1).describe('Role'),
  });
  return [
    formView(role, basePath, { method: 'POST', title: 'Save a role', submitLabel: 'Save' }),
    {
      kind: 'cards',
      title: 'Stored roles',
      endpoint: basePath,
      itemsPath: 'roles',
      titleKey: 'name',
      colourKey: 'source',
      badgeKey: 'source',
      refreshMs: REFRESH_MS,
      fields: [
        { path: 'grants', label: 'Grants' },
        { path: 'inherits', label: 'Inherits' },
        { path: 'assigned', label: 'Assigned users', format: 'number' },
      ],
      actions: [
        {
          label: 'Delete',
          endpoint: `${basePath}/{name}`,
          method: 'DELETE',
          destructive: true,
          confirm: 'Delete the role {name}?',
          when: { key: 'source', in: ['database'] },
        },
      ],
    },
    formView(assignment, `${basePath}/assignments`, {
      method: 'POST',
      title: 'Assign a role',
      submitLabel: 'Assign',
    }),
    {
      kind: 'cards',
      title: 'Assignments',
      endpoint: `${basePath}/assignments`,
      itemsPath: 'assignments',
      titleKey: 'user',
      colourKey: 'source',
      badgeKey: 'source',
      refreshMs: REFRESH_MS,
      fields: [{ path: 'role', label: 'Role' }],
      actions: [
        {
          label: 'Unassign',
          endpoint: `${basePath}/assignments/{user}/{role}`,
          method: 'DELETE',
          destructive: true,
          confirm: 'Take {role} from {user}?',
          when: { key: 'source', in: ['database'] },
        },
      ],
    },
  ];
}

/**
 * The Roles page: each role's grants and inheritance, and the "why" form; with
 * `storage: 'database'` also forms that save a role and assign one, and cards that delete stored
 * roles and unassign stored assignments (configured ones are read-only, and show no button).
 */
export function rolesPanel(
  basePath: string,
  storage: 'config' | 'database' = 'config',
): UIContribution {
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
            ...(storage === 'database' ? { refreshMs: REFRESH_MS } : {}),
            columns: [
              { key: 'name', label: 'Role' },
              { key: 'source', label: 'Source' },
              { key: 'inherits', label: 'Inherits', format: 'json' },
              { key: 'grants', label: 'Grants', format: 'json' },
              { key: 'effective', label: 'Effective grants', format: 'json' },
              { key: 'assigned', label: 'Assigned users', format: 'number' },
            ],
          },
          ...(storage === 'database' ? editViews(basePath) : []),
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
