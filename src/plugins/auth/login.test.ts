import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auth0Adapter } from './adapters/auth0.js';
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
});
