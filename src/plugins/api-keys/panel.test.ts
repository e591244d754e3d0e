import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UIView } from '../../core/ui.js';
import { createAuthPlugin } from '../auth/index.js';
import { createDatabasePlugin } from '../database/index.js';
import { startApp, testIssuer, type StartedApp } from '../auth/test-support/gateway-kit.js';
import { createApiKeysPlugin } from './index.js';
import { apiKeysPanel } from './panel.js';

const views = apiKeysPanel('/api/keys').pages![0].views;
const view = <K extends UIView['kind']>(kind: K) =>
  views.find((entry) => entry.kind === kind) as Extract<UIView, { kind: K }>;

describe('the API keys page', () => {
  let started: StartedApp;
  beforeAll(async () => {
    const issuer = await testIssuer();
    // No admin guard: this loopback caller is the operator.
    started = await startApp([
      createDatabasePlugin({ url: 'memory://' }),
      createAuthPlugin({ providers: [issuer.provider] }),
      createApiKeysPlugin(),
    ]);
  });
  afterAll(() => started?.app.stop());

  it('reads the endpoint that lists the keys, and its Revoke action revokes the card’s key', async () => {
    const created = await fetch(`${started.url}/api/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'panel', scopes: ['read:*'] }),
    });
    const { id } = (await created.json()) as { id: string };
    const table = view('table');
    const rows = ((await (await fetch(`${started.url}${table.endpoint}`)).json()) as never)[
      table.rowsPath!
    ] as { id: string; status: string }[];
    expect(rows).toEqual([expect.objectContaining({ id, status: 'active' })]);
    const revoke = view('cards').actions!.find((action) => action.label === 'Revoke')!;
    expect(revoke.when).toEqual({ key: 'status', in: ['active'] });
    const answer = await fetch(`${started.url}${revoke.endpoint.replace('{id}', id)}`, {
      method: revoke.method,
    });
    expect(answer.status).toBe(204);
    const cards = view('cards');
    const after = ((await (await fetch(`${started.url}${cards.endpoint}`)).json()) as never)[
      cards.itemsPath!
    ] as { status: string }[];
    expect(after).toEqual([expect.objectContaining({ status: 'revoked' })]);
  });
});
