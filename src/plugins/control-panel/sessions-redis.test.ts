import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import { SERVICES, serviceAvailable } from '../../../test/support/services.js';
import { baseUrl } from '../../../test/support/http.js';
import { createControlPanelPlugin } from './index.js';
import { controlPanelOptionsSchema } from './options.js';
import { openRedisSessions, type SharedSessions } from './redis-sessions.js';
import { SessionStore } from './sessions.js';
import { startApp, uiFixture } from './test-support/fixtures.js';

/** Control panel sessions in a real Redis, shared by two gateway instances. */

const PASSWORD = 'correct horse battery';
const hasRedis = await serviceAvailable('redis');
const ui = uiFixture();
afterAll(() => ui.remove());
const apps: App[] = [];
const closing: SharedSessions[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(closing.splice(0).map((shared) => shared.close()));
});

const prefix = () => `test:cpanel:${randomBytes(5).toString('hex')}:`;

async function gateway(sessionStore: { redis: string; prefix: string }): Promise<string> {
  const { app } = await startApp([
    createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD, sessionStore }),
  ]);
  apps.push(app);
  return baseUrl(app);
}

async function login(base: string, userAgent = 'browser') {
  const response = await fetch(`${base}/cpanel/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ user: 'admin', password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { csrfToken: string; id: string };
  return { cookie: response.headers.get('set-cookie')!.split(';')[0], ...body };
}

const sessionStatus = async (base: string, cookie: string) =>
  (await fetch(`${base}/cpanel/api/session`, { headers: { cookie } })).status;

const post = (
  base: string,
  path: string,
  as: { cookie: string; csrfToken: string },
  body?: unknown,
) =>
  fetch(`${base}/cpanel/api${path}`, {
    method: 'POST',
    headers: {
      cookie: as.cookie,
      'x-csrf-token': as.csrfToken,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('sessionStore option', () => {
  it('takes REDIS_URL as a bare URL and refuses anything but redis:// or memory', () => {
    expect(controlPanelOptionsSchema.parse({}).sessionStore).toBe('memory');
    expect(
      controlPanelOptionsSchema.parse({ sessionStore: 'redis://127.0.0.1:6379' }).sessionStore,
    ).toEqual({
      redis: 'redis://127.0.0.1:6379',
      prefix: 'qwickapps:cpanel:',
      connectTimeout: 5_000,
    });
    const refused = controlPanelOptionsSchema.safeParse({ sessionStore: 'http://127.0.0.1' });
    expect(refused.success).toBe(false);
    expect(refused.error!.issues[0]).toMatchObject({
      path: ['sessionStore', 'redis'],
      message: 'a redis:// or rediss:// URL',
    });
  });
});

describe.skipIf(!hasRedis)('control panel sessions in Redis', () => {
  it('a login through one gateway is valid on the other; a logout through the other ends it on both', async () => {
    const store = { redis: SERVICES.redis.url, prefix: prefix() };
    const [a, b] = [await gateway(store), await gateway(store)];
    const session = await login(a);
    expect(await sessionStatus(a, session.cookie)).toBe(200);
    expect(await sessionStatus(b, session.cookie)).toBe(200);
    // Its CSRF token is checked the same on the other gateway.
    const wrongToken = await post(b, '/logout', { cookie: session.cookie, csrfToken: 'nope' });
    expect(wrongToken.status).toBe(403);

    const listed = await fetch(`${b}/cpanel/api/sessions`, { headers: { cookie: session.cookie } });
    expect(
      ((await listed.json()) as { sessions: { id: string; current: boolean }[] }).sessions,
    ).toEqual([expect.objectContaining({ id: session.id, current: true })]);

    expect((await post(b, '/logout', session)).status).toBe(204);
    expect(await sessionStatus(a, session.cookie)).toBe(401);
    expect(await sessionStatus(b, session.cookie)).toBe(401);
  });

  it('is switched on by REDIS_URL alone, as the gateway reads its environment', async () => {
    process.env.REDIS_URL = SERVICES.redis.url;
    process.env.ADMIN_SESSION_SECRET = randomBytes(32).toString('base64url');
    try {
      const start = async () => {
        const { app } = await startApp([
          createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD }),
        ]);
        apps.push(app);
        return baseUrl(app);
      };
      const [a, b] = [await start(), await start()];
      const session = await login(a);
      expect(await sessionStatus(b, session.cookie)).toBe(200);
      expect((await post(a, '/logout', session)).status).toBe(204);
      expect(await sessionStatus(b, session.cookie)).toBe(401);
    } finally {
      delete process.env.REDIS_URL;
      delete process.env.ADMIN_SESSION_SECRET;
    }
  });

  it('revoking through one gateway ends the other sessions everywhere, keeping the current one', async () => {
    const store = { redis: SERVICES.redis.url, prefix: prefix() };
    const [a, b] = [await gateway(store), await gateway(store)];
    const laptop = await login(a, 'laptop');
    const phone = await login(b, 'phone');
    const revoked = await post(b, '/sessions/revoke', phone, { keepCurrent: true });
    expect(await revoked.json()).toEqual({ revoked: 1 });
    expect(await sessionStatus(a, laptop.cookie)).toBe(401);
    expect(await sessionStatus(a, phone.cookie)).toBe(200);
  });

  it("an end through one instance tells the other's listeners (its open log streams close)", async () => {
    const config = { redis: SERVICES.redis.url, prefix: prefix(), connectTimeout: 2_000 };
    const logger = pino({ level: 'silent' });
    const [sharedA, sharedB] = [
      await openRedisSessions(config, undefined, logger),
      await openRedisSessions(config, undefined, logger),
    ];
    closing.push(sharedA, sharedB);
    // Neither was given a secret: the first made the signing key, the second took it.
    expect(sharedB.signingKey).toBe(sharedA.signingKey);
    const a = new SessionStore({ ttl: 60_000, maxSessions: 10, shared: sharedA });
    const b = new SessionStore({ ttl: 60_000, maxSessions: 10, shared: sharedB });
    const session = await a.open('admin');
    const found = await b.find(a.cookieValue(session));
    expect(found?.handle).toBe(session.handle);
    const ended = new Promise<string>((resolve) => b.onEnd(session.id, resolve));
    await a.close(session, 'logout');
    expect(await ended).toBe('logout');
    expect(await b.find(a.cookieValue(session))).toBeUndefined();
  });

  it('fails start-up naming Redis when it cannot be reached', async () => {
    await expect(
      openRedisSessions(
        { redis: 'redis://127.0.0.1:1', prefix: prefix(), connectTimeout: 500 },
        undefined,
        pino({ level: 'silent' }),
      ),
    ).rejects.toThrow(/Control panel sessions: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
