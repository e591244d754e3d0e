import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthPlugin } from '../auth/index.js';
import {
  panelUi,
  startApp,
  testIssuer,
  type StartedApp,
} from '../auth/test-support/gateway-kit.js';
import { createCachePlugin } from '../cache/index.js';
import { createConfigPlugin } from '../config/index.js';
import { createControlPanelPlugin } from '../control-panel/index.js';
import { createDatabasePlugin } from '../database/index.js';
import { createApiKeysPlugin } from './index.js';

const PASSWORD = 'a-long-enough-password';
const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

describe('API keys on a product that keeps the control panel’s password guard', () => {
  let started: StartedApp;
  const ui = panelUi();

  beforeAll(async () => {
    const issuer = await testIssuer();
    started = await startApp([
      createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD }),
      createDatabasePlugin({ url: 'memory://' }),
      createAuthPlugin({ providers: [issuer.provider] }),
      createApiKeysPlugin(),
      createConfigPlugin(),
      createCachePlugin(),
    ]);
  });
  afterAll(async () => {
    await started?.app.stop();
    ui.remove();
  });

  const keyWith = async (scopes: string[]): Promise<{ id: string; key: string }> => {
    const response = await fetch(`${started.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ name: scopes.join(' '), scopes }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; key: string };
  };
  const call = (key: string, method: string, path: string) =>
    fetch(`${started.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });

  it('lets a key use the routes its scopes name, and refuses the others naming the permission', async () => {
    const { key } = await keyWith(['config:read']);
    expect((await call(key, 'GET', '/api/config')).status).toBe(200);
    const flush = await call(key, 'POST', '/api/cache/flush');
    expect(flush.status).toBe(403);
    expect(flush.headers.get('content-type')).toBe('application/problem+json');
    expect(await flush.json()).toMatchObject({
      code: 'CPANEL_PERMISSION_MISSING',
      missing: 'cache:flush',
    });
    // Routes that name no permission stay the password's: creating keys is one.
    expect((await call(key, 'POST', '/api/keys')).status).toBe(401);
  });

  it('lets an admin:* key in wherever a permission is named, and a revoked key nowhere', async () => {
    const { id, key } = await keyWith(['admin:*']);
    expect((await call(key, 'POST', '/api/cache/flush')).status).toBe(200);
    const revoked = await fetch(`${started.url}/api/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: basic },
    });
    expect(revoked.status).toBe(204);
    expect((await call(key, 'GET', '/api/config')).status).toBe(401);
  });

  it('still takes the password (Basic) on the same routes', async () => {
    const response = await fetch(`${started.url}/api/config`, {
      headers: { authorization: basic },
    });
    expect(response.status).toBe(200);
  });
});
