import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import { baseUrl, json } from '../../../test/support/http.js';
import { createControlPanelPlugin } from './index.js';
import { startApp, uiFixture } from './test-support/fixtures.js';

const PASSWORD = 'correct horse battery';
const ui = uiFixture();
afterAll(() => ui.remove());

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

async function start(): Promise<string> {
  const { app } = await startApp([createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD })]);
  apps.push(app);
  return baseUrl(app);
}

/** Logs in from a browser with the given user agent; returns the cookie, CSRF token and session id. */
async function loginAs(
  base: string,
  userAgent: string,
): Promise<{ cookie: string; csrfToken: string; id: string }> {
  const response = await fetch(`${base}/cpanel/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ user: 'admin', password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { csrfToken: string; id: string };
  return {
    cookie: response.headers.get('set-cookie')!.split(';')[0],
    csrfToken: body.csrfToken,
    id: body.id,
  };
}

const revoke = (base: string, as: { cookie: string; csrfToken: string }, body?: unknown) =>
  fetch(`${base}/cpanel/api/sessions/revoke`, {
    method: 'POST',
    headers: {
      cookie: as.cookie,
      'x-csrf-token': as.csrfToken,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const status = async (base: string, cookie: string) =>
  (await fetch(`${base}/cpanel/api/session`, { headers: { cookie } })).status;

describe('the sessions of the calling user', () => {
  it('lists every live session, marks the current one, and gives away no secret', async () => {
    const base = await start();
    const laptop = await loginAs(base, 'laptop browser');
    const phone = await loginAs(base, 'phone browser');
    const response = await fetch(`${base}/cpanel/api/sessions`, {
      headers: { cookie: phone.cookie },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    const { sessions } = JSON.parse(text) as {
      sessions: { id: string; current: boolean; userAgent: string; client: string }[];
    };
    expect(sessions.map(({ id, current, userAgent }) => ({ id, current, userAgent }))).toEqual([
      { id: laptop.id, current: false, userAgent: 'laptop browser' },
      { id: phone.id, current: true, userAgent: 'phone browser' },
    ]);
    expect(sessions[0].client).toBe('127.0.0.1');
    // Neither the cookie's session id nor its signature, nor a CSRF token, appears in the list.
    for (const secret of [
      ...laptop.cookie.split('=')[1].split('.'),
      ...phone.cookie.split('=')[1].split('.'),
      laptop.csrfToken,
      phone.csrfToken,
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('revokes every other session with keepCurrent, then all of them; revoked cookies are refused', async () => {
    const base = await start();
    const [first, second, third] = [
      await loginAs(base, 'a'),
      await loginAs(base, 'b'),
      await loginAs(base, 'c'),
    ];

    const others = await revoke(base, first, { keepCurrent: true });
    expect(others.status).toBe(200);
    expect(await others.json()).toEqual({ revoked: 2 });
    expect([
      await status(base, first.cookie),
      await status(base, second.cookie),
      await status(base, third.cookie),
    ]).toEqual([200, 401, 401]);
    expect(
      (await json(fetch(`${base}/cpanel/api/sessions`, { headers: { cookie: first.cookie } })))
        .sessions,
    ).toHaveLength(1);

    const all = await revoke(base, first);
    expect(await all.json()).toEqual({ revoked: 1 });
    expect(await status(base, first.cookie)).toBe(401);
  });

  it('answers bad bodies with 400 problem+json and refuses a revoke without the CSRF token', async () => {
    const base = await start();
    const session = await loginAs(base, 'a');
    const bad = await revoke(base, session, { keepCurrent: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(((await bad.json()) as { code: string }).code).toBe('CPANEL_REVOKE_INVALID');
    const forged = await fetch(`${base}/cpanel/api/sessions/revoke`, {
      method: 'POST',
      headers: { cookie: session.cookie },
    });
    expect(forged.status).toBe(403);
    expect(await status(base, session.cookie)).toBe(200);
  });

  it('lets a script with Basic credentials list and revoke the sessions (it has none of its own)', async () => {
    const base = await start();
    const browser = await loginAs(base, 'a');
    const authorization = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
    const listed = await json(fetch(`${base}/cpanel/api/sessions`, { headers: { authorization } }));
    expect(
      listed.sessions.map((session: { id: string; current: boolean }) => [
        session.id,
        session.current,
      ]),
    ).toEqual([[browser.id, false]]);
    const revoked = await fetch(`${base}/cpanel/api/sessions/revoke`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{"keepCurrent":true}',
    });
    expect(await revoked.json()).toEqual({ revoked: 1 });
    expect(await status(base, browser.cookie)).toBe(401);
  });
});
