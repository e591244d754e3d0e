import { randomUUID } from 'node:crypto';
import { json } from '../../../test/support/http.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { definePlugin } from '../../index.js';
import { createCachePlugin } from '../cache/index.js';
import { serviceAvailable, SERVICES } from '../../../test/support/services.js';
import { jwtAdapter } from './adapters/jwt.js';
import type { AuthOptions } from './options.js';
import { startAuthApp, type AuthTestApp } from './test-support/auth-app.js';
import { CookieJar } from './test-support/code-flow.js';
import type { Sessions } from './sessions.js';
import type { AuthUser } from './types.js';

const hasRedis = await serviceAvailable('redis');
const SECRET_A = 'session-secret-a-0123456789abcdef-0123456789';
const SECRET_B = 'session-secret-b-0123456789abcdef-0123456789';
const MINUTE = 60_000;

const userFor = (subject: string): AuthUser => ({
  id: `jwt|${subject}`,
  provider: 'jwt',
  issuer: 'https://issuer.example.test',
  subject,
  roles: [],
  permissions: [],
  claims: { sub: subject },
});

/** A clock the test moves by hand. */
function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const apps: AuthTestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map(({ app }) => app.stop()));
});

/**
 * An app with the auth routes and one test-only route, `POST /test/login/:subject`, that starts
 * a session for that user as a login would (the login flows have their own tests).
 */
async function sessionApp(
  session: AuthOptions['session'] = {},
  options: {
    now?: () => number;
    plugins?: Parameters<typeof startAuthApp>[0]['plugins'];
    publicUrl?: string;
  } = {},
): Promise<AuthTestApp> {
  const holder: { sessions?: Sessions } = {};
  const loginRoute = definePlugin({
    name: 'test-login',
    routes: [
      {
        method: 'post',
        path: '/test/login/:subject',
        handler: async (req, res) => {
          const started = await holder.sessions!.start(
            req,
            res,
            userFor(String(req.params.subject)),
          );
          res.json({ id: started.id });
        },
      },
    ],
  });
  const started = await startAuthApp({
    now: options.now,
    plugins: [...(options.plugins ?? []), loginRoute],
    auth: {
      providers: [
        jwtAdapter({
          issuer: 'https://issuer.example.test',
          audience: 'api',
          secret: 'hmac-secret-0123456789abcdef-0123456789',
          algorithms: ['HS256'],
        }),
      ],
      session,
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    },
  });
  holder.sessions = started.sessions;
  apps.push(started);
  return started;
}

async function login(app: AuthTestApp, subject: string, jar = new CookieJar()) {
  const response = await jar.fetch(`${app.url}/test/login/${subject}`, { method: 'POST' });
  expect(response.status).toBe(200);
  return { jar, id: ((await response.json()) as { id: string }).id };
}

const me = (app: AuthTestApp, jar: CookieJar) => jar.fetch(`${app.url}/auth/me`);
const cookieOf = (app: AuthTestApp, jar: CookieJar) => jar.get(app.url, 'qwickapps-auth');

describe.each(['session', 'jwt'] as const)('%s sessions', (type) => {
  const base = type === 'jwt' ? { type, secret: SECRET_A } : { type };

  it('sets a host-only, HttpOnly, SameSite=Lax cookie without the __Host- prefix over http', async () => {
    const app = await sessionApp(base);
    const response = await fetch(`${app.url}/test/login/alice`, { method: 'POST' });
    const cookie = response.headers
      .getSetCookie()
      .find((line) => line.startsWith('qwickapps-auth='));
    expect(cookie).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect(cookie).not.toMatch(/Secure|Domain/);
    if (type === 'session') expect(cookie).toMatch(/^qwickapps-auth=[A-Za-z0-9_-]{43};/);
  });

  it('gives a new session id at every login and ends the one the request came with', async () => {
    const app = await sessionApp(base);
    const first = await login(app, 'alice');
    const before = cookieOf(app, first.jar)!;
    const second = await login(app, 'alice', first.jar);
    expect(second.id).not.toBe(first.id);
    expect(cookieOf(app, first.jar)).not.toBe(before);
    expect((await me(app, first.jar)).status).toBe(200);
    const stale = new CookieJar();
    stale.set(app.url, 'qwickapps-auth', before);
    expect((await me(app, stale)).status).toBe(401);
  });

  it('tells listeners when a session ends, once, with the reason (logout, revocation)', async () => {
    const app = await sessionApp(base);
    const leaving = await login(app, 'alice');
    const revoked = await login(app, 'bob');
    const heard: string[] = [];
    app.sessions.onEnd(leaving.id, (reason) => heard.push(`alice:${reason}`));
    app.sessions.onEnd(revoked.id, (reason) => heard.push(`bob:${reason}`));
    const removed = app.sessions.onEnd(revoked.id, (reason) => heard.push(`removed:${reason}`));
    removed();
    const logout = await leaving.jar.fetch(`${app.url}/auth/logout`, {
      method: 'POST',
      headers: { origin: app.url },
    });
    expect(logout.status).toBe(303);
    expect(await app.sessions.revoke(revoked.id)).toBe(true);
    await app.sessions.revoke(revoked.id);
    expect(heard).toEqual(['alice:logout', 'bob:revoked']);
  });

  it('ends a session left idle past idleTimeout, and keeps one in use', async () => {
    const time = clock();
    const app = await sessionApp(
      { ...base, idleTimeout: MINUTE, absoluteTimeout: 60 * MINUTE },
      time,
    );
    const { jar } = await login(app, 'alice');
    for (let step = 0; step < 3; step++) {
      time.advance(MINUTE - 5_000);
      expect((await me(app, jar)).status).toBe(200);
    }
    time.advance(MINUTE);
    expect((await me(app, jar)).status).toBe(401);
  });

  it('ends a session at absoluteTimeout however busy it is', async () => {
    const time = clock();
    const app = await sessionApp(
      { ...base, idleTimeout: MINUTE, absoluteTimeout: 3 * MINUTE },
      time,
    );
    const { jar } = await login(app, 'alice');
    // 40 s apart: never idle for a minute, and 160 s in; the next step passes 180 s.
    for (let step = 0; step < 4; step++) {
      time.advance(40_000);
      expect((await me(app, jar)).status).toBe(200);
    }
    time.advance(40_000);
    expect((await me(app, jar)).status).toBe(401);
  });

  it('keeps at most maxPerUser sessions per user, ending the oldest', async () => {
    const time = clock();
    const app = await sessionApp({ ...base, maxPerUser: 2 }, time);
    const jars = [];
    for (let index = 0; index < 3; index++) {
      jars.push((await login(app, 'alice')).jar);
      time.advance(1_000);
    }
    expect((await me(app, jars[0])).status).toBe(401);
    expect((await me(app, jars[1])).status).toBe(200);
    expect((await me(app, jars[2])).status).toBe(200);
    const listed = await json(fetch(`${app.url}/api/auth/sessions?user=jwt|alice`));
    expect(listed.sessions).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toMatch(/idToken|refreshToken/);
  });

  it('ends sessions at once by admin revoke and by revoking the user', async () => {
    const app = await sessionApp(base);
    const one = await login(app, 'alice');
    const two = await login(app, 'alice');
    const bob = await login(app, 'bob');
    const revoke = await fetch(`${app.url}/api/auth/sessions/${one.id}`, { method: 'DELETE' });
    expect(revoke.status).toBe(204);
    expect((await me(app, one.jar)).status).toBe(401);
    expect((await me(app, two.jar)).status).toBe(200);
    const again = await fetch(`${app.url}/api/auth/sessions/${one.id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    const all = await fetch(`${app.url}/api/auth/users/jwt%7Calice/revoke`, { method: 'POST' });
    expect(await all.json()).toEqual({ revoked: 1 });
    expect((await me(app, two.jar)).status).toBe(401);
    expect((await me(app, bob.jar)).status).toBe(200);
  });
});

describe('the session cookie', () => {
  it('keeps its __Host- prefix and is Secure when the public URL is https', async () => {
    const app = await sessionApp({}, { publicUrl: 'https://app.example.test' });
    const response = await fetch(`${app.url}/test/login/alice`, { method: 'POST' });
    const cookie = response.headers.getSetCookie().find((line) => line.includes('qwickapps-auth='));
    expect(cookie).toMatch(
      /^__Host-qwickapps-auth=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/,
    );
    expect(app.sessions.cookieNames).toEqual(['__Host-qwickapps-auth', '__Host-qwickapps-login']);
  });
});

describe('jwt sessions', () => {
  it('rotates secrets: a cookie under the old key still opens, new cookies use the new key', async () => {
    const old = await sessionApp({ type: 'jwt', secret: SECRET_A });
    const { jar } = await login(old, 'alice');
    const oldCookie = cookieOf(old, jar)!;
    await old.app.stop();
    apps.splice(apps.indexOf(old), 1);

    const rotated = await sessionApp({ type: 'jwt', secret: [SECRET_B, SECRET_A] });
    const carried = new CookieJar();
    carried.set(rotated.url, 'qwickapps-auth', oldCookie);
    expect((await me(rotated, carried)).status).toBe(200);

    const fresh = await login(rotated, 'bob');
    const newCookie = cookieOf(rotated, fresh.jar)!;
    const kid = (value: string) =>
      JSON.parse(Buffer.from(value.split('.')[0], 'base64url').toString()).kid;
    expect(kid(newCookie)).not.toBe(kid(oldCookie));
    // Only the new key opens it: an app that knows only the old one refuses it.
    const legacy = await sessionApp({ type: 'jwt', secret: SECRET_A });
    const moved = new CookieJar();
    moved.set(legacy.url, 'qwickapps-auth', newCookie);
    expect((await me(legacy, moved)).status).toBe(401);
  });

  it('refuses a cookie that logged out, even though it still decrypts', async () => {
    const app = await sessionApp({ type: 'jwt', secret: SECRET_A });
    const { jar } = await login(app, 'alice');
    const cookie = cookieOf(app, jar)!;
    const logout = await jar.fetch(`${app.url}/auth/logout`, {
      method: 'POST',
      headers: { origin: app.url },
    });
    expect(logout.status).toBe(303);
    expect(cookieOf(app, jar)).toBeUndefined();
    jar.set(app.url, 'qwickapps-auth', cookie);
    expect((await me(app, jar)).status).toBe(401);
  });
});

describe.skipIf(!hasRedis)('server sessions on a shared Redis cache', () => {
  const namespace = `test-auth-${randomUUID().slice(0, 8)}`;
  const cache = () => createCachePlugin({ url: SERVICES.redis.url, namespace });
  afterAll(async () => {
    if (!hasRedis) return;
    const { createClient } = await import('@redis/client');
    const client = createClient({ url: SERVICES.redis.url });
    await client.connect();
    for await (const key of client.scanIterator({ MATCH: `${namespace}*` })) await client.del(key);
    await client.quit();
  });

  it('lets a session begun on one instance work on another, and logout on either end it', async () => {
    const first = await sessionApp({ type: 'session' }, { plugins: [cache()] });
    const second = await sessionApp({ type: 'session' }, { plugins: [cache()] });
    const { jar } = await login(first, 'alice');
    const cookie = cookieOf(first, jar)!;
    const other = new CookieJar();
    other.set(second.url, 'qwickapps-auth', cookie);
    expect((await me(second, other)).status).toBe(200);
    const logout = await other.fetch(`${second.url}/auth/logout`, {
      method: 'POST',
      headers: { origin: second.url },
    });
    expect(logout.status).toBe(303);
    expect((await me(first, jar)).status).toBe(401);
  });
});
