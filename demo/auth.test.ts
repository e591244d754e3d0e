import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway/index.js';
import { signIn } from '../src/plugins/auth/test-support/code-flow.js';
import { json, waitFor } from '../test/support/http.js';
import { chromiumAvailable, launchBrowser } from '../test/e2e/support/full-app.js';
import { createDemoGateway } from './gateway.js';
import { startSignIn, type SignIn } from './sign-in.js';
import { freePort } from '../test/support/ports.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const withChromium = chromiumAvailable('the demo sign-in');

describe('signing in to the demo, through its gateway and the development stand-in', () => {
  let gateway: Gateway;
  let base: string;
  let signInConfig: SignIn;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'demo-auth-'));

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // What `npm start` does in development with no provider variables.
    signInConfig = await startSignIn({}, { production: false, publicUrl: base });
    gateway = createDemoGateway({
      port,
      host: '127.0.0.1',
      servicePort: await freePort(),
      dataDir,
      adminPassword: 'demo-auth-password',
      signIn: signInConfig,
      publicUrl: base,
      traffic: { promotionDelay: 0, promotionChecks: 1, healthInterval: 200 },
    });
    await gateway.start();
    await waitFor(
      async () => (await fetch(`${base}/api/v1/hello`).catch(() => undefined))?.status === 200,
      'v1 answers through the gateway',
      60_000,
    );
  }, 90_000);
  afterAll(async () => {
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const user = (index = 0) => ({
    login: signInConfig.users[index].login,
    password: signInConfig.users[index].password,
  });
  const editor = () => user(0);
  const viewer = () => user(1);
  const admin = {
    authorization: `Basic ${Buffer.from('admin:demo-auth-password').toString('base64')}`,
  };

  it('tells the page it signs in through a development stand-in, with a password new per run', async () => {
    expect(await json(fetch(`${base}/demo/sign-in`))).toEqual({
      mode: 'development',
      label: expect.stringMatching(/^a development stand-in for Auth0 at http:\/\/127\.0\.0\.1:/),
      login: 'redirect',
    });
    expect(signInConfig.users).toEqual([
      { login: 'alice', password: expect.any(String), role: 'editor' },
      { login: 'bob', password: expect.any(String), role: 'viewer' },
    ]);
    expect(signInConfig.users[0].password.length).toBeGreaterThanOrEqual(16);
    expect(signInConfig.users[0].password).not.toBe(signInConfig.users[1].password);
  });

  it('logs in with the code flow; the service answers /api/v1/me with the forwarded identity; after logout, 401', async () => {
    const anonymous = await fetch(`${base}/api/v1/me`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/problem+json');
    expect((await json(anonymous)).code).toBe('AUTH_TOKEN_MISSING');

    const { jar, response } = await signIn(`${base}/auth/login?returnTo=/`, user());
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
    const me = await jar.fetch(`${base}/api/v1/me`);
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(await json(me)).toMatchObject({
      id: 'dev|alice',
      provider: 'dev',
      subject: 'alice',
      email: 'alice@example.com',
      name: 'Alice',
      roles: ['editor'],
    });
    // The other routes keep working, signed in or not.
    expect((await jar.fetch(`${base}/api/v1/hello`)).status).toBe(200);
    expect((await fetch(`${base}/api/v1/stats`)).status).toBe(200);

    const cookieBeforeLogout = jar.header(base);
    const logout = await jar.fetch(`${base}/auth/logout`, {
      method: 'POST',
      headers: { origin: base },
    });
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toContain(`${signInConfig.issuer}oidc/logout`);
    // A script asking for JSON is told where to send the browser instead of redirected.
    const { jar: again } = await signIn(`${base}/auth/login?returnTo=/`, user());
    const scripted = await again.fetch(`${base}/auth/logout`, {
      method: 'POST',
      headers: { origin: base, accept: 'application/json' },
    });
    expect(scripted.status).toBe(200);
    const answer = (await scripted.json()) as { signedOut: boolean; location: string };
    expect(answer.signedOut).toBe(true);
    expect(answer.location).toContain(`${signInConfig.issuer}oidc/logout`);
    expect((await again.fetch(`${base}/api/v1/me`)).status).toBe(401);
    const after = await jar.fetch(`${base}/api/v1/me`);
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
    // The ended session's cookie, replayed, is no one either: it ended on the server.
    const replayed = await fetch(`${base}/api/v1/me`, { headers: { cookie: cookieBeforeLogout } });
    expect(replayed.status).toBe(401);
  });

  it("ignores an identity header a caller makes up, even one signed like the gateway's", async () => {
    const forged = await new SignJWT({ qwickapps_user: { id: 'dev|mallory' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('qwickapps-gateway')
      .setAudience('qwickapps-service')
      .setSubject('mallory')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode('a-guessed-secret-that-is-32-bytes-long!'));
    const response = await fetch(`${base}/api/v1/me`, {
      headers: { 'x-qwickapps-identity': forged },
    });
    expect(response.status).toBe(401);
  });

  it('lets the editor write content and refuses the viewer, naming the permission it lacks', async () => {
    const { jar: alice } = await signIn(`${base}/auth/login?returnTo=/`, editor());
    const { jar: bob } = await signIn(`${base}/auth/login?returnTo=/`, viewer());
    const text = `note ${Date.now()}`;
    const post = (jar: typeof alice, body: unknown) =>
      jar.fetch(`${base}/api/v1/content`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify(body),
      });
    const written = await post(alice, { text });
    expect(written.status).toBe(201);
    expect(await json(written)).toMatchObject({ text, author: 'Alice' });

    const refused = await post(bob, { text: 'from a viewer' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(await json(refused)).toMatchObject({
      code: 'ROLES_PERMISSION_MISSING',
      missing: 'write:content',
      detail: 'This needs the permission write:content.',
    });
    // Both read (viewer: read:*; editor inherits it); the viewer's note was never kept.
    for (const jar of [alice, bob]) {
      const notes = (await json(jar.fetch(`${base}/api/v1/content`))).notes as { text: string }[];
      expect(notes.map((note) => note.text)).toContain(text);
      expect(notes.map((note) => note.text)).not.toContain('from a viewer');
    }
    expect((await post(alice, { text: '' })).status).toBe(400);
    expect((await fetch(`${base}/api/v1/content`)).status).toBe(401);

    // The panel's "why": the viewer holds viewer, whose read:* does not cover write:content.
    const why = await json(
      fetch(`${base}/api/roles/explain`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({
          user: { id: 'dev|bob', roles: ['viewer'] },
          permission: 'write:content',
        }),
      }),
    );
    expect(why.decision).toMatchObject({
      allowed: false,
      reason: 'no-grant',
      rolesConsidered: ['viewer'],
    });
  });

  it('lists who signed in on the Users API the panel shows, each with its identity', async () => {
    await signIn(`${base}/auth/login?returnTo=/`, editor());
    await signIn(`${base}/auth/login?returnTo=/`, viewer());
    const listed = await json(fetch(`${base}/api/users?search=example.com`, { headers: admin }));
    const emails = (listed.users as { email: string }[]).map((entry) => entry.email).sort();
    expect(emails).toEqual(['alice@example.com', 'bob@example.com']);
    expect((await fetch(`${base}/api/users`)).status).toBe(401);
  });

  it("refuses logout from another origin and keeps the session (the page's same-origin POST works)", async () => {
    const { jar } = await signIn(`${base}/auth/login?returnTo=/`, user());
    const foreign = await jar.fetch(`${base}/auth/logout`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect((await jar.fetch(`${base}/api/v1/me`)).status).toBe(200);
  });

  describe.skipIf(!withChromium)('in Chromium', () => {
    it('clicks "Log in" on the demo page, signs in at the stand-in, comes back signed in, logs out', async () => {
      const browser = await launchBrowser();
      try {
        const page = await (await browser.newContext()).newPage();
        await page.goto(`${base}/`);
        await expect
          .poll(() => page.locator('#provider').textContent())
          .toContain('a development stand-in for Auth0');
        await expect.poll(() => page.locator('#who').textContent()).toBe('Not signed in.');
        await page.getByRole('link', { name: 'Log in' }).click();
        await page.getByLabel('User').fill(user().login);
        await page.getByLabel('Password').fill(user().password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${base}/`);
        await expect
          .poll(() => page.locator('#who').textContent())
          .toBe('Signed in as Alice (dev|alice, roles: editor)');
        // An editor writes a note; it shows in the list.
        await page.getByLabel('Note').fill('written in Chromium');
        await page.getByRole('button', { name: 'Write' }).click();
        await expect.poll(() => page.locator('#write-answer').textContent()).toBe('Written.');
        await expect
          .poll(() => page.locator('#notes').textContent())
          .toContain('written in Chromium');
        // Log out ends the gateway's session, then the provider's: it asks, and comes back.
        await page.getByRole('button', { name: 'Log out' }).click();
        await page.waitForURL((url) => url.href.startsWith(signInConfig.issuer!));
        await page.getByRole('button', { name: /sign me out/i }).click();
        await page.waitForURL(`${base}/`);
        await expect.poll(() => page.locator('#who').textContent()).toBe('Not signed in.');
        // The provider's session ended too: logging in again asks for the password.
        await page.getByRole('link', { name: 'Log in' }).click();
        await expect.poll(() => page.getByLabel('Password').isVisible()).toBe(true);
      } finally {
        await browser.close();
      }
    });
  });
});

describe('the demo without provider variables in production', () => {
  it('has no login and no crash: the gateway starts, the page says sign-in is off, /api/v1/me is 401', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'demo-auth-off-'));
    const off = await startSignIn({}, { production: true, publicUrl: 'http://localhost:3101' });
    expect(off).toMatchObject({ mode: 'off', providers: [], login: 'none', users: [] });
    const gateway = createDemoGateway({
      port: 0,
      host: '127.0.0.1',
      servicePort: await freePort(),
      dataDir,
      adminPassword: 'demo-auth-password',
      signIn: off,
      traffic: { promotionDelay: 0, promotionChecks: 1, healthInterval: 200 },
    });
    try {
      await gateway.start();
      const base = gateway.context.url()!.replace('localhost', '127.0.0.1');
      expect(await json(fetch(`${base}/demo/sign-in`))).toMatchObject({
        mode: 'off',
        login: 'none',
      });
      const login = await fetch(`${base}/auth/login`, { headers: { accept: 'application/json' } });
      expect(login.status).toBe(404);
      await waitFor(
        async () => (await fetch(`${base}/api/v1/hello`).catch(() => undefined))?.status === 200,
        'v1 answers through the gateway',
        60_000,
      );
      expect((await fetch(`${base}/api/v1/me`)).status).toBe(401);
    } finally {
      await gateway.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('npm start with provider variables', () => {
  it('uses a real Auth0 tenant or Supabase project from their variables', async () => {
    const auth0 = await startSignIn(
      {
        AUTH0_DOMAIN: 'example.us.auth0.com',
        AUTH0_CLIENT_ID: 'client',
        AUTH0_CLIENT_SECRET: 'client-secret',
        AUTH0_AUDIENCE: 'https://api.example.com',
      },
      { production: true, publicUrl: 'https://demo.example.com' },
    );
    expect(auth0).toMatchObject({ mode: 'auth0', login: 'redirect' });
    expect(auth0.providers[0]).toMatchObject({
      kind: 'auth0',
      issuer: 'https://example.us.auth0.com/',
      audience: 'https://api.example.com',
      login: { clientId: 'client', clientSecret: 'client-secret' },
      problems: [],
    });
    const supabase = await startSignIn(
      { SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_ANON_KEY: 'anon-key' },
      { production: false, publicUrl: 'http://localhost:3101' },
    );
    expect(supabase).toMatchObject({ mode: 'supabase', login: 'password', users: [] });
    expect(supabase.providers[0]).toMatchObject({
      kind: 'supabase',
      issuer: 'https://abc.supabase.co/auth/v1',
      problems: [],
    });
  });

  it('fails at once naming each missing or invalid one, and shows no secret', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'main.ts')], {
      env: {
        ...process.env,
        AUTH0_DOMAIN: 'example.us.auth0.com',
        AUTH0_CLIENT_SECRET: 'the-auth0-client-secret',
        SUPABASE_URL: 'https://abc.supabase.co',
        SUPABASE_JWT_SECRET: 'too-short-a-secret',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    for (const name of [
      'AUTH0_CLIENT_ID: expected a value',
      'AUTH0_AUDIENCE: expected a value',
      'SUPABASE_ANON_KEY: expected a value',
      'SUPABASE_JWT_SECRET: expected',
      'SUPABASE_URL: expected AUTH0_* or SUPABASE_* variables, not both',
    ])
      expect(stderr).toContain(name);
    expect(stderr).not.toContain('the-auth0-client-secret');
    expect(stderr).not.toContain('too-short-a-secret');
    expect(stderr).not.toContain('    at ');
  });
});
