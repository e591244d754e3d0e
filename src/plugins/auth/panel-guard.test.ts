import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createControlPanelPlugin } from '../control-panel/index.js';
import { createAuthPlugin } from './index.js';
import { nodeRequest } from '../../../test/support/upstream.js';
import {
  panelUi,
  startApp,
  testIssuer,
  type StartedApp,
  type TestIssuer,
} from './test-support/gateway-kit.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await testIssuer();
});

async function guarded(): Promise<StartedApp> {
  const ui = panelUi();
  cleanups.push(ui.remove);
  const started = await startApp([
    // The panel first in the list: the order of start-up, not of the list, puts auth's guard first.
    createControlPanelPlugin({ uiDir: ui.dir }),
    createAuthPlugin({ providers: [issuer.provider], controlPanel: { adminRoles: ['admin'] } }),
  ]);
  cleanups.push(() => started.app.stop());
  return started;
}

describe('the auth plugin as the control panel guard', () => {
  it('lets an admin token into /cpanel/api/*, answers a viewer 403 and an anonymous caller 401', async () => {
    const { url } = await guarded();
    const admin = await issuer.token({ sub: 'root', roles: ['admin'] });
    const session = await fetch(`${url}/cpanel/api/session`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(session.status).toBe(200);
    expect(await session.json()).toEqual({ user: 'jwt|root' });
    const plugins = await fetch(`${url}/cpanel/api/plugins`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(plugins.status).toBe(200);

    const viewer = await issuer.token({ sub: 'vic', roles: ['viewer'] });
    const refused = await fetch(`${url}/cpanel/api/plugins`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'AUTH_FORBIDDEN' });

    const anonymous = await fetch(`${url}/cpanel/api/plugins`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    // The password guard is not installed: its login route does not exist.
    const login = await fetch(`${url}/cpanel/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'admin', password: 'whatever-password' }),
    });
    expect(login.status).toBe(404);
  });

  it('sends an anonymous browser to the login route', async () => {
    const { url } = await guarded();
    const response = await nodeRequest(`${url}/cpanel/api/ui`, {
      headers: { accept: 'text/html,*/*;q=0.8', 'sec-fetch-mode': 'navigate' },
    });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(
      `/auth/login?returnTo=${encodeURIComponent('/cpanel/api/ui')}`,
    );
  });

  it('says in the log that the panel keeps the guard, and the panel shows the Auth page', async () => {
    const { url, logs } = await guarded();
    expect(logs.some((line) => String(line.msg).includes('keeps the admin guard'))).toBe(true);
    const admin = await issuer.token({ sub: 'root', roles: ['admin'] });
    const status = await fetch(`${url}/api/auth/status`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(await status.json()).toMatchObject({
      session: 'session',
      controlPanelGuard: 'roles admin',
    });
    const ui = await fetch(`${url}/cpanel/api/ui`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const pages = ((await ui.json()) as { pages: { id: string }[] }).pages.map((page) => page.id);
    expect(pages).toContain('auth');
  });

  it('keeps the password guard for products without the auth plugin’s guard', async () => {
    const ui = panelUi();
    cleanups.push(ui.remove);
    const started = await startApp([
      createControlPanelPlugin({ uiDir: ui.dir, password: 'a-long-enough-password' }),
      createAuthPlugin({ providers: [issuer.provider] }),
    ]);
    cleanups.push(() => started.app.stop());
    const admin = await issuer.token({ sub: 'root', roles: ['admin'] });
    // An admin token means nothing to the password guard.
    const refused = await fetch(`${started.url}/cpanel/api/plugins`, {
      headers: { authorization: `Bearer ${admin}`, 'x-forwarded-for': '203.0.113.9' },
    });
    expect(refused.status).toBe(401);
    const login = await fetch(`${started.url}/cpanel/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'admin', password: 'a-long-enough-password' }),
    });
    expect(login.status).toBe(200);
    expect(started.logs.some((line) => String(line.msg).includes('keeps the admin guard'))).toBe(
      false,
    );
  });
});
