import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UIView } from '../../core/ui.js';
import { TARGETS, removeTempDirs, type Sandbox } from '../../../test/support/databases.js';
import { rolesPanel } from './panel.js';
import type { StartedApp } from './test-support/roles-app.js';
import { send, startStored } from './test-support/stored.js';

let sandbox: Sandbox;
let started: StartedApp;
beforeAll(async () => {
  sandbox = await TARGETS.find((target) => target.provider === 'sqlite')!.sandbox();
  started = await startStored(sandbox.options);
});
afterAll(async () => {
  await started.app.stop();
  await sandbox.cleanup();
  await removeTempDirs();
});

const views = rolesPanel('/api/roles', 'database').pages![0].views;
const form = (title: string) =>
  views.find((view) => view.kind === 'form' && view.title === title) as Extract<
    UIView,
    { kind: 'form' }
  >;
const cards = (title: string) =>
  views.find((view) => view.kind === 'cards' && view.title === title) as Extract<
    UIView,
    { kind: 'cards' }
  >;

/** A card action's call for one item, with `{path}` replaced as the panel replaces it. */
function press(
  view: Extract<UIView, { kind: 'cards' }>,
  label: string,
  item: Record<string, unknown>,
) {
  const action = view.actions!.find((entry) => entry.label === label)!;
  if (action.when && !action.when.in.includes(item[action.when.key] as string)) return undefined;
  const endpoint = action.endpoint.replace(/\{([^}]+)\}/g, (_, key: string) =>
    encodeURIComponent(String(item[key])),
  );
  return send(`${started.url}${endpoint}`, action.method ?? 'POST');
}

describe('the Roles page', () => {
  it('is read-only with configured roles: the roles table and the why form only', () => {
    const readOnly = rolesPanel('/api/roles').pages![0].views;
    expect(readOnly.map((view) => `${view.kind}:${view.title}`)).toEqual([
      'table:Roles',
      'form:Why?',
    ]);
  });

  it("saves a role and assigns it through its forms, and its cards' buttons undo both", async () => {
    const { url } = started;
    const save = form('Save a role');
    const created = await send(`${url}${save.action}`, save.method ?? 'POST', {
      name: 'curator',
      grants: 'curate:collections, read:*',
      inherits: '',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ grants: ['curate:collections', 'read:*'] });
    // Editing is the same form with "replace" ticked.
    const edited = await send(`${url}${save.action}`, save.method ?? 'POST', {
      name: 'curator',
      grants: 'curate:collections',
      replace: true,
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ grants: ['curate:collections'] });

    const assign = form('Assign a role');
    const assigned = await send(`${url}${assign.action}`, assign.method ?? 'POST', {
      user: 'jwt|cora',
      role: 'curator',
    });
    expect(assigned.status).toBe(201);
    const roles = started.app.context.services.get('roles');
    const cora = { id: 'jwt|cora', roles: [], permissions: [] };
    expect(roles.can(cora, 'curate:collections')).toBe(true);

    const assignments = cards('Assignments');
    const listed = (await send(`${url}${assignments.endpoint}`, 'GET')).body[
      assignments.itemsPath!
    ] as Record<string, unknown>[];
    expect(listed).toEqual([{ user: 'jwt|cora', role: 'curator', source: 'database' }]);
    expect((await press(assignments, 'Unassign', listed[0]))?.status).toBe(204);
    expect(roles.can(cora, 'curate:collections')).toBe(false);

    const stored = cards('Stored roles');
    const items = (await send(`${url}${stored.endpoint}`, 'GET')).body[stored.itemsPath!] as Record<
      string,
      unknown
    >[];
    // Configured roles show no Delete button.
    expect(
      press(
        stored,
        'Delete',
        items.find((item) => item.name === 'viewer')!,
      ),
    ).toBeUndefined();
    expect(
      (
        await press(
          stored,
          'Delete',
          items.find((item) => item.name === 'curator')!,
        )
      )?.status,
    ).toBe(204);
    const table = views.find((view) => view.kind === 'table') as Extract<UIView, { kind: 'table' }>;
    const rows = (await send(`${url}${table.endpoint}`, 'GET')).body[table.rowsPath!] as {
      name: string;
    }[];
    expect(rows.map((row) => row.name)).not.toContain('curator');
  });
});
