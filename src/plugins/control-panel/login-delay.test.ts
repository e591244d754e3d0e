import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { createControlPanelPlugin } from './index.js';
import { startApp, uiFixture } from './test-support/fixtures.js';

const PASSWORD = 'correct horse battery';
const ui = uiFixture();
afterAll(() => ui.remove());

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

/** Behind a trusted proxy, so X-Forwarded-For picks the client address (req.ip) of each attempt. */
async function start(): Promise<{ base: string; logs: Record<string, unknown>[] }> {
  const panel = createControlPanelPlugin({
    uiDir: ui.dir,
    password: PASSWORD,
    loginRateLimit: { max: 5, windowMs: 60_000 },
    accountLoginDelay: { freeFailures: 3, baseDelay: 1_000, maxDelay: 4_000 },
  });
  const { app, logs } = await startApp([panel], { trustProxy: ['loopback'] });
  apps.push(app);
  return { base: baseUrl(app), logs };
}

let nextAddress = 1;
/** A client address no attempt has used yet, so the per-address limit never applies. */
const freshAddress = () => `10.0.${nextAddress >> 8}.${nextAddress++ & 255}`;

function attempt(
  base: string,
  password: string,
  extra: { from?: string; cookie?: string; user?: string } = {},
) {
  return fetch(`${base}/cpanel/api/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': extra.from ?? freshAddress(),
      ...(extra.cookie ? { cookie: extra.cookie } : {}),
    },
    body: JSON.stringify({ user: extra.user ?? 'admin', password }),
  });
}

const deviceCookieOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .find((cookie) => cookie.startsWith('cpanel_device='))!
    .split(';')[0];

describe('failed logins per account, from many addresses', () => {
  it('delays the account once freeFailures pass, with a wait that doubles; a browser that logged in before is never kept out', async () => {
    const { base, logs } = await start();
    const before = await attempt(base, PASSWORD);
    expect(before.status).toBe(200);
    const device = deviceCookieOf(before);
    expect(
      before.headers.getSetCookie().find((cookie) => cookie.startsWith('cpanel_device=')),
    ).toMatch(
      /^cpanel_device=\d+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=2592000$/,
    );

    // 20 addresses, one wrong attempt each (user names too, so the delay cannot tell a right one): far under the per-address limit.
    const statuses: number[] = [];
    for (let index = 0; index < 20; index++)
      statuses.push(
        (await attempt(base, `wrong-${index}`, { user: index % 2 ? 'admin' : `guess-${index}` }))
          .status,
      );
    expect(statuses).toEqual([401, 401, 401, ...Array<number>(17).fill(429)]);

    const refused = await attempt(base, PASSWORD);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { code: string }).code).toBe('CPANEL_LOGIN_DELAYED');
    expect(refused.headers.getSetCookie()).toEqual([]);
    // Basic credentials are no way around it.
    const basic = await fetch(`${base}/cpanel/api/session`, {
      headers: {
        authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`,
        'x-forwarded-for': freshAddress(),
      },
    });
    expect(basic.status).toBe(429);

    // After the announced wait one more attempt is verified, and the next wait is twice as long.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await attempt(base, 'wrong-again')).status).toBe(401);
    const longer = await attempt(base, 'wrong-at-once');
    expect(longer.status).toBe(429);
    expect(longer.headers.get('retry-after')).toBe('2');
    expect(
      logs.some(
        (line) =>
          line.msg === 'control panel logins for the account delayed after repeated failures',
      ),
    ).toBe(true);

    // The owner's browser logs in at once, from yet another address, and the login resets the account.
    const owner = await attempt(base, PASSWORD, { cookie: device });
    expect(owner.status).toBe(200);
    expect((await attempt(base, 'wrong-after-reset')).status).toBe(401);
  });

  it('stops trusting a device cookie that fails freeFailures times', async () => {
    const { base } = await start();
    const device = deviceCookieOf(await attempt(base, PASSWORD));
    for (let index = 0; index < 3; index++)
      expect((await attempt(base, `stranger-${index}`)).status).toBe(401);
    expect((await attempt(base, PASSWORD)).status).toBe(429);
    // With the cookie, failures count against the device only: three of them, then it is a stranger too.
    for (let index = 0; index < 3; index++)
      expect((await attempt(base, `device-${index}`, { cookie: device })).status).toBe(401);
    expect((await attempt(base, PASSWORD, { cookie: device })).status).toBe(429);
  });

  it('refuses at start-up a maxDelay below baseDelay, naming the option', async () => {
    const panel = createControlPanelPlugin({
      uiDir: ui.dir,
      password: PASSWORD,
      accountLoginDelay: { baseDelay: 5_000, maxDelay: 1_000 },
    });
    const failure = await startApp([panel]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).issues.map((issue) => issue.name)).toContain(
      'plugins.control-panel.accountLoginDelay.maxDelay',
    );
  });
});
