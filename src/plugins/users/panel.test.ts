import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import type { UIView } from '../../core/ui.js';
import { usersPanel } from './panel.js';
import { startSupabaseAdminStandIn } from './test-support/provider-standins.js';
import { call, startUsersApp } from './test-support/users-app.js';

let app: App;
let url: string;
beforeAll(async () => {
  ({ app, url } = await startUsersApp({ database: { url: 'memory://' }, users: {} }));
});
afterAll(() => app.stop());

const views = usersPanel('/api/users').pages![0].views;
const view = <K extends UIView['kind']>(kind: K) =>
  views.find((entry) => entry.kind === kind) as Extract<UIView, { kind: K }>;

describe('the Users page', () => {
  it("reads endpoints that answer the rows it shows, and its search form's action searches", async () => {
    await call(`${url}/api/users`, 'POST', { email: 'panel@example.com', name: 'Panel' });
    await call(`${url}/api/users`, 'POST', { email: 'other@example.com', name: 'Other' });
    const cards = view('cards');
    const listed = await call(`${url}${cards.endpoint}`, 'GET');
    expect(listed.body[cards.itemsPath!]).toHaveLength(2);
    const table = view('table');
    const rows = (await call(`${url}${table.endpoint}`, 'GET')).body[table.rowsPath!] as {
      email: string;
    }[];
    // Newest first.
    expect(rows.map((row) => row.email)).toEqual(['other@example.com', 'panel@example.com']);
    const form = view('form');
    const found = await call(`${url}${form.action}`, form.method ?? 'POST', { q: 'PANEL' });
    expect(found.status).toBe(200);
    expect((found.body.users as { email: string }[]).map((user) => user.email)).toEqual([
      'panel@example.com',
    ]);
  });

  it("card actions disable, enable and delete the card's user", async () => {
    const created = await call(`${url}/api/users`, 'POST', { email: 'card@example.com' });
    const id = String(created.body.id);
    const action = (label: string) => {
      const found = view('cards').actions!.find((entry) => entry.label === label)!;
      return call(`${url}${found.endpoint.replace('{id}', id)}`, found.method ?? 'POST');
    };
    expect((await action('Disable')).body.status).toBe('disabled');
    expect((await action('Enable')).body.status).toBe('active');
    expect((await action('Delete')).status).toBe(204);
    expect((await call(`${url}/api/users/${id}`, 'GET')).status).toBe(404);
  });
});

describe('the Users page with provider sync', () => {
  it('has a Sync now button that runs a sync, and shows the last report', async () => {
    expect(views.some((entry) => entry.kind === 'actions')).toBe(false);
    expect((await call(`${url}/api/users/sync`, 'GET')).body.code).toBe(
      'USERS_SYNC_NOT_CONFIGURED',
    );
    const standIn = await startSupabaseAdminStandIn([{ id: 'p1', email: 'synced@example.com' }]);
    const started = await startUsersApp({
      database: { url: 'memory://' },
      users: {
        sync: { provider: 'supabase', url: standIn.url, serviceRoleKey: standIn.serviceRoleKey },
      },
    });
    try {
      const synced = usersPanel('/api/users', true).pages![0].views;
      const actions = synced.find((entry) => entry.kind === 'actions') as Extract<
        UIView,
        { kind: 'actions' }
      >;
      const button = actions.actions.find((action) => action.label === 'Sync now')!;
      const ran = await call(`${started.url}${button.endpoint}`, button.method ?? 'POST');
      expect(ran.body).toMatchObject({ status: 'completed', created: 1 });
      const shown = synced.find(
        (entry) => entry.kind === 'keyValue' && entry.title === 'Last sync',
      ) as Extract<UIView, { kind: 'keyValue' }>;
      const read = await call(`${started.url}${shown.endpoint}`, 'GET');
      expect(read.body[shown.path!]).toMatchObject({ status: 'completed', created: 1 });
    } finally {
      await started.app.stop();
      await standIn.close();
    }
  });
});
