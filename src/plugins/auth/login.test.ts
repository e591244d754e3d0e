import { json } from '../../../test/support/http.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auth0Adapter } from './adapters/auth0.js';
import { supabaseAdapter } from './adapters/supabase.js';
import { startSupabaseStandIn, type SupabaseStandIn } from './test-support/supabase-standin.js';
import { startAuth0Op, type Auth0Op } from './test-support/auth0-op.js';
import { startAuthApp, type AuthTestApp } from './test-support/auth-app.js';
import { CookieJar, signIn } from './test-support/code-flow.js';

const ALICE = { login: 'user-alice', password: 'alice-password' };

let op: Auth0Op;
const apps: AuthTestApp[] = [];
beforeAll(async () => {
  op = await startAuth0Op();
});
afterAll(() => op.close());
afterEach(async () => {
  await Promise.all(apps.splice(0).map(({ app }) => app.stop()));
});

async function appWithOp(auth: Record<string, unknown> = {}): Promise<AuthTestApp> {
  const { freePort } = await import('./test-support/auth-app.js');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  op.registerClient({
    redirectUri: `${url}/auth/callback`,
    postLogoutRedirectUri: `${url}/`,
    backchannelLogoutUri: `${url}/auth/backchannel-logout`,
  });
  const started = await startAuthApp({
    port,
    auth: {
      providers: [
        auth0Adapter({
          issuer: op.issuer,
          clientId: op.clientId,
          clientSecret: op.clientSecret,
          audience: op.audience,
        }),
      ],
      ...auth,
    },
  });
  apps.push(started);
  return started;
}

describe('OIDC login against an Auth0-shaped OP', () => {
  it('signs in through the code flow and `me` answers with the user and its permissions', async () => {
    const { url } = await appWithOp();
    const { jar, response } = await signIn(`${url}/auth/login?returnTo=/reports?tab=1`, ALICE);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/reports?tab=1');
    const me = await jar.fetch(`${url}/auth/me`);
    expect(me.status).toBe(200);
    const user = (await me.json()) as { sessionId?: string };
    expect(user).toMatchObject({
      id: 'auth0|user-alice',
      provider: 'auth0',
      issuer: op.issuer,
      subject: 'user-alice',
      email: 'alice@example.com',
      name: 'Alice',
      permissions: ['read:reports', 'write:reports'],
    });
    expect(user.sessionId).toEqual(expect.any(String));
  });

  it('answers `me` without a session with a 401 problem', async () => {
    const { url } = await appWithOp();
    const response = await fetch(`${url}/auth/me`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it('asks for the code with PKCE S256, state, nonce and the audience, and the OP answers with iss', async () => {
    const { url } = await appWithOp();
    const start = await fetch(`${url}/auth/login`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.origin + authorize.pathname).toBe(`${op.issuer}authorize`);
    const params = Object.fromEntries(authorize.searchParams);
    expect(params).toMatchObject({
      response_type: 'code',
      client_id: op.clientId,
      redirect_uri: `${url}/auth/callback`,
      code_challenge_method: 'S256',
      audience: op.audience,
      scope: 'openid profile email',
    });
    expect(params.state).toMatch(/^[\w-]{22,}$/);
    expect(params.nonce).toMatch(/^[\w-]{22,}$/);
    expect(params.code_challenge).toMatch(/^[\w-]{43}$/);
    const loginCookie = start.headers
      .getSetCookie()
      .find((line) => line.startsWith('qwickapps-login='));
    expect(loginCookie).toMatch(/HttpOnly; SameSite=Lax; Max-Age=600/);
    const { callbackUrl } = await signIn(`${url}/auth/login`, ALICE, { stopAtCallback: true });
    expect(new URL(callbackUrl).searchParams.get('iss')).toBe(op.issuer);
  });

  it('refuses a replayed callback, even with the login cookie it came with', async () => {
    const { url } = await appWithOp();
    const { jar, callbackUrl } = await signIn(`${url}/auth/login`, ALICE, { stopAtCallback: true });
    const loginCookie = jar.get(url, 'qwickapps-login')!;
    expect((await jar.fetch(callbackUrl)).status).toBe(303);
    jar.set(url, 'qwickapps-login', loginCookie);
    const replay = await jar.fetch(callbackUrl);
    expect(replay.status).toBe(400);
    expect((await json(replay)).code).toBe('AUTH_LOGIN_STATE_INVALID');
    const attacker = new CookieJar();
    attacker.set(url, 'qwickapps-login', loginCookie);
    expect((await attacker.fetch(callbackUrl)).status).toBe(400);
  });

  it("refuses a callback whose iss is not the OP's (RFC 9207 mix-up)", async () => {
    const { url } = await appWithOp();
    const { jar, callbackUrl } = await signIn(`${url}/auth/login`, ALICE, { stopAtCallback: true });
    const mixedUp = new URL(callbackUrl);
    mixedUp.searchParams.set('iss', 'https://other-op.example/');
    const response = await jar.fetch(mixedUp.href);
    expect(response.status).toBe(400);
    expect((await jar.fetch(`${url}/auth/me`)).status).toBe(401);
  });

  it("refuses a callback with another browser's state (login CSRF)", async () => {
    const { url } = await appWithOp();
    const victim = await signIn(`${url}/auth/login`, ALICE, { stopAtCallback: true });
    const attacker = await signIn(
      `${url}/auth/login`,
      { login: 'user-bob', password: 'bob-password' },
      { stopAtCallback: true },
    );
    // The victim's browser is sent to the attacker's callback: its own login cookie does not match.
    const forged = await victim.jar.fetch(attacker.callbackUrl);
    expect(forged.status).toBe(400);
    expect((await json(forged)).code).toBe('AUTH_LOGIN_STATE_INVALID');
    expect((await victim.jar.fetch(`${url}/auth/me`)).status).toBe(401);
    // A browser that started no login at all is refused too.
    const none = await fetch(attacker.callbackUrl, { redirect: 'manual' });
    expect(none.status).toBe(400);
  });

  it('replaces a session cookie set before login (fixation)', async () => {
    const { url } = await appWithOp();
    const jar = new CookieJar();
    const planted = 'A'.repeat(43);
    jar.set(url, 'qwickapps-auth', planted);
    await signIn(`${url}/auth/login`, ALICE, { jar });
    const after = jar.get(url, 'qwickapps-auth');
    expect(after).toBeDefined();
    expect(after).not.toBe(planted);
    const first = after!;
    await signIn(`${url}/auth/login`, ALICE, { jar });
    expect(jar.get(url, 'qwickapps-auth')).not.toBe(first);
    const stale = new CookieJar();
    stale.set(url, 'qwickapps-auth', first);
    expect((await stale.fetch(`${url}/auth/me`)).status).toBe(401);
  });

  it.each([
    '//evil.example',
    '/\\evil.example',
    '/..//evil.example',
    'https://evil.example/x',
    'javascript:alert(1)',
  ])('sends returnTo %s to / instead', async (returnTo) => {
    const { url } = await appWithOp();
    const { response } = await signIn(
      `${url}/auth/login?returnTo=${encodeURIComponent(returnTo)}`,
      ALICE,
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
  });

  it('limits login attempts per client address with a 429 and Retry-After', async () => {
    const { url } = await appWithOp({
      loginLimit: { perAddress: 3, perAccount: 3, window: 60_000 },
    });
    for (let attempt = 0; attempt < 3; attempt++)
      expect((await fetch(`${url}/auth/login`, { redirect: 'manual' })).status).toBe(302);
    const refused = await fetch(`${url}/auth/login`, { redirect: 'manual' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await json(refused)).code).toBe('AUTH_LOGIN_RATE_LIMITED');
  });
});

describe('discovery at start-up', () => {
  it('tries again after a connection reset (twice), then fails naming the provider', async () => {
    const { createServer } = await import('node:net');
    let connections = 0;
    // Accepts and resets every connection: what a pooled connection the OP just closed looks like.
    const resetting = createServer((socket) => {
      connections += 1;
      socket.resetAndDestroy();
    });
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const port = (resetting.address() as { port: number }).port;
    try {
      const failure = await startAuthApp({
        auth: {
          providers: [
            auth0Adapter({
              issuer: `http://127.0.0.1:${port}/`,
              clientId: 'client',
              clientSecret: 'secret',
              audience: 'https://api.example.test/',
            }),
          ],
        },
      }).catch((error: unknown) => error as Error);
      expect(failure).toBeInstanceOf(Error);
      expect(String((failure as Error).message)).toContain(
        `auth provider "auth0": discovery at http://127.0.0.1:${port}/ failed`,
      );
      expect(connections).toBe(3);
    } finally {
      resetting.close();
    }
  });
});

describe('logout', () => {
  it('refuses GET with 405 and another Origin with 403, and keeps the session', async () => {
    const { url } = await appWithOp();
    const { jar } = await signIn(`${url}/auth/login`, ALICE);
    const get = await jar.fetch(`${url}/auth/logout`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const foreign = await jar.fetch(`${url}/auth/logout`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect((await json(foreign)).code).toBe('AUTH_CROSS_SITE');
    const noOrigin = await jar.fetch(`${url}/auth/logout`, { method: 'POST' });
    expect(noOrigin.status).toBe(403);
    expect((await jar.fetch(`${url}/auth/me`)).status).toBe(200);
  });

  it('ends the server session and sends the browser to the OP with id_token_hint', async () => {
    const { url } = await appWithOp();
    const { jar } = await signIn(`${url}/auth/login`, ALICE);
    const cookie = jar.get(url, 'qwickapps-auth')!;
    const logout = await jar.fetch(`${url}/auth/logout`, {
      method: 'POST',
      headers: { origin: url },
    });
    expect(logout.status).toBe(303);
    const to = new URL(logout.headers.get('location')!);
    expect(to.origin + to.pathname).toBe(`${op.issuer}oidc/logout`);
    expect(to.searchParams.get('client_id')).toBe(op.clientId);
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`${url}/`);
    expect(to.searchParams.get('id_token_hint')?.split('.')).toHaveLength(3);
    expect(jar.get(url, 'qwickapps-auth')).toBeUndefined();
    jar.set(url, 'qwickapps-auth', cookie);
    expect((await jar.fetch(`${url}/auth/me`)).status).toBe(401);
    // The OP accepts the hint: it shows its sign-out confirmation, not an error.
    const atOp = await fetch(to, { redirect: 'manual' });
    expect(atOp.status).toBe(200);
  });

  it('takes the CSRF token `me` hands out when the caller sends no Origin', async () => {
    const { url } = await appWithOp();
    const { jar } = await signIn(`${url}/auth/login`, ALICE);
    const token = (await jar.fetch(`${url}/auth/me`)).headers.get('x-csrf-token')!;
    const wrong = await jar.fetch(`${url}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) },
    });
    expect(wrong.status).toBe(403);
    const right = await jar.fetch(`${url}/auth/logout`, {
      method: 'POST',
      headers: { 'x-csrf-token': token },
    });
    expect(right.status).toBe(303);
    expect((await jar.fetch(`${url}/auth/me`)).status).toBe(401);
  });
});

describe('Supabase password login', () => {
  let supabase: SupabaseStandIn;
  beforeAll(async () => {
    supabase = await startSupabaseStandIn({
      users: [
        {
          email: 'carol@example.com',
          password: 'carol-password',
          appMetadata: { roles: ['editor'] },
          userMetadata: { roles: ['admin'] },
        },
      ],
    });
  });
  afterAll(() => supabase.close());

  async function passwordApp(loginLimit?: Record<string, number>) {
    const started = await startAuthApp({
      auth: {
        providers: [supabaseAdapter({ url: supabase.url, anonKey: supabase.anonKey })],
        ...(loginLimit ? { loginLimit } : {}),
      },
    });
    apps.push(started);
    return started;
  }

  const login = (url: string, body: Record<string, string>, jar = new CookieJar()) =>
    jar.fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify(body),
    });

  it('signs in with email and password, keeps roles from app_metadata only', async () => {
    const { url } = await passwordApp();
    const jar = new CookieJar();
    const response = await login(
      url,
      { email: 'carol@example.com', password: 'carol-password' },
      jar,
    );
    expect(response.status).toBe(200);
    const body = (await json(response)) as Record<string, unknown>;
    expect(JSON.stringify(body)).not.toMatch(/refresh_token|access_token/);
    const me = (await json(jar.fetch(`${url}/auth/me`))) as { provider: string; roles: string[] };
    expect(me).toMatchObject({
      provider: 'supabase',
      email: 'carol@example.com',
      roles: ['editor'],
    });
  });

  it('answers a wrong password with 401 and no session', async () => {
    const { url } = await passwordApp();
    const jar = new CookieJar();
    const response = await login(url, { email: 'carol@example.com', password: 'wrong' }, jar);
    expect(response.status).toBe(401);
    expect(((await json(response)) as { code: string }).code).toBe(
      'AUTH_LOGIN_INVALID_CREDENTIALS',
    );
    expect((await jar.fetch(`${url}/auth/me`)).status).toBe(401);
    const missing = await login(url, { email: 'carol@example.com' });
    expect(missing.status).toBe(400);
    const foreign = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ email: 'carol@example.com', password: 'carol-password' }),
    });
    expect(foreign.status).toBe(403);
  });

  it('limits attempts per account (any letter case) and per address', async () => {
    const { url } = await passwordApp({ perAddress: 100, perAccount: 2, window: 60_000 });
    for (let attempt = 0; attempt < 2; attempt++)
      expect((await login(url, { email: 'Carol@Example.com', password: 'x' })).status).toBe(401);
    // The account is locked for the window, whatever the letter case, even with the right password.
    const locked = await login(url, { email: 'carol@example.com', password: 'carol-password' });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
    // Another account from the same address is still let through.
    expect((await login(url, { email: 'dave@example.com', password: 'x' })).status).toBe(401);

    const perAddress = await passwordApp({ perAddress: 2, perAccount: 100, window: 60_000 });
    for (const email of ['a@example.com', 'b@example.com'])
      expect((await login(perAddress.url, { email, password: 'x' })).status).toBe(401);
    const refused = await login(perAddress.url, { email: 'c@example.com', password: 'x' });
    expect(refused.status).toBe(429);
  });
});
