import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../../../test/support/http.js';
import { auth0Adapter } from './adapters/auth0.js';
import { startAuth0Op, type Auth0Op } from './test-support/auth0-op.js';
import { freePort, startAuthApp, type AuthTestApp } from './test-support/auth-app.js';
import { signIn } from './test-support/code-flow.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const ALICE = { login: 'user-alice', password: 'alice-password' };

let op: Auth0Op;
let app: AuthTestApp;
beforeAll(async () => {
  op = await startAuth0Op();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  op.registerClient({
    redirectUri: `${url}/auth/callback`,
    backchannelLogoutUri: `${url}/auth/backchannel-logout`,
  });
  app = await startAuthApp({
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
    },
  });
});
afterAll(async () => {
  await app.app.stop();
  await op.close();
});

/** A signed-in browser and the OP session its login belongs to. */
async function signedIn() {
  const { jar } = await signIn(`${app.url}/auth/login`, ALICE);
  const me = await jar.fetch(`${app.url}/auth/me`);
  const sid = ((await json(me)) as { claims: { sid?: string } }).claims.sid;
  expect(sid).toEqual(expect.any(String));
  return {
    jar,
    sid: sid!,
    alive: async () => (await jar.fetch(`${app.url}/auth/me`)).status === 200,
  };
}

const claims = (sid: string, extra: JWTPayload = {}): JWTPayload => ({
  iss: op.issuer,
  aud: op.clientId,
  iat: Math.floor(Date.now() / 1000),
  jti: randomUUID(),
  events: { [LOGOUT_EVENT]: {} },
  sid,
  ...extra,
});

const post = (logoutToken: string) =>
  fetch(`${app.url}/auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: logoutToken }),
  });

describe('back-channel logout', () => {
  it("ends the session when the OP's session ends (the OP's own logout token)", async () => {
    const browser = await signedIn();
    const other = await signedIn();
    await op.backchannelLogout('user-alice', browser.sid);
    expect(await browser.alive()).toBe(false);
    // Only the sessions of that OP session end.
    expect(await other.alive()).toBe(true);
  });

  it('ends every session of the subject when the token names only sub', async () => {
    const one = await signedIn();
    const two = await signedIn();
    const token = await op.signLogoutToken(claims('', { sid: undefined, sub: 'user-alice' }));
    expect((await post(token)).status).toBe(200);
    expect(await one.alive()).toBe(false);
    expect(await two.alive()).toBe(false);
  });

  it('refuses a replayed logout token', async () => {
    const browser = await signedIn();
    const token = await op.signLogoutToken(claims(browser.sid));
    expect((await post(token)).status).toBe(200);
    const replay = await post(token);
    expect(replay.status).toBe(400);
    expect(((await json(replay)) as { code: string }).code).toBe('AUTH_LOGOUT_TOKEN_INVALID');
  });

  it.each([
    ['a nonce', (sid: string) => claims(sid, { nonce: 'n-0S6_WzA2Mj' }), {}],
    ['no events', (sid: string) => claims(sid, { events: undefined }), {}],
    ['another event', (sid: string) => claims(sid, { events: { 'urn:other': {} } }), {}],
    ['another issuer', (sid: string) => claims(sid, { iss: 'http://127.0.0.1:1/' }), {}],
    ['another audience', (sid: string) => claims(sid, { aud: 'another-client' }), {}],
    ['neither sub nor sid', (sid: string) => claims(sid, { sid: undefined }), {}],
    ['an old iat', (sid: string) => claims(sid, { iat: Math.floor(Date.now() / 1000) - 600 }), {}],
    ['typ JWT', (sid: string) => claims(sid), { typ: 'JWT' }],
  ])('refuses a token with %s and keeps the session', async (_name, make, header) => {
    const browser = await signedIn();
    const response = await post(await op.signLogoutToken(make(browser.sid), header));
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await browser.alive()).toBe(true);
  });

  it("refuses a token signed with a key that is not the OP's", async () => {
    const browser = await signedIn();
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(claims(browser.sid))
      .setProtectedHeader({ alg: 'RS256', kid: 'op-key-1', typ: 'logout+jwt' })
      .sign(privateKey);
    expect((await post(forged)).status).toBe(400);
    expect((await post('not-a-jwt')).status).toBe(400);
    expect(await browser.alive()).toBe(true);
  });
});
