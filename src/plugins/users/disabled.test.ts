import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin, type ServerPlugin } from '../../index.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createAuthPlugin, jwtAdapter, requireUser } from '../auth/index.js';
import { startAuth0StandIn } from './test-support/provider-standins.js';
import {
  echoUpstream,
  FORWARD_SECRET,
  ISSUER,
  testIssuer,
  type EchoUpstream,
  type TestIssuer,
} from '../auth/test-support/gateway-kit.js';
import type { DatabaseOptions } from '../database/index.js';
import { createRoutingPlugin } from '../routing/index.js';
import { call, startUsersApp, uniqueTable, USERS_TARGETS } from './test-support/users-app.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An Express route of the app that needs a signed-in caller. */
const meRoute = (): ServerPlugin<unknown> =>
  definePlugin({
    name: 'me',
    routes: () => [
      {
        method: 'get',
        path: '/me',
        description: 'The caller.',
        handler: [requireUser(), (req, res) => void res.json({ id: req.user!.id })],
      },
    ],
  });

/** A gateway: auth (bearer tokens of `issuer`), a required and an open proxy route, users. */
async function gateway(
  issuer: TestIssuer,
  upstream: EchoUpstream,
  database: DatabaseOptions,
  table: string,
) {
  const { app, url } = await startUsersApp({
    database,
    users: { table, disabledRefresh: 300 },
    plugins: [
      createRoutingPlugin({
        routes: [
          {
            id: 'private',
            match: '/private/*',
            target: upstream.url,
            auth: 'required',
            health: false,
          },
          { id: 'open', match: '/open/*', target: upstream.url, health: false },
        ],
      }),
      createAuthPlugin({ providers: [issuer.provider], forward: { secret: FORWARD_SECRET } }),
      meRoute(),
    ],
  });
  cleanups.push(() => app.stop());
  return url;
}

async function setUp(provider: (typeof USERS_TARGETS)[number]) {
  const table = uniqueTable();
  const opened = await provider.open(table);
  cleanups.push(() => opened.cleanup());
  const upstream = await echoUpstream();
  cleanups.push(() => upstream.close());
  return { issuer: await testIssuer(), upstream, database: opened.options, table };
}

/** A user with the identity `subject` of the test issuer. */
async function userOf(url: string, subject: string): Promise<string> {
  const created = await call(`${url}/api/users`, 'POST', { email: `${subject}@example.com` });
  const id = String(created.body.id);
  await call(`${url}/api/users/${id}/identities`, 'POST', { issuer: ISSUER, subject });
  return id;
}

const get = (url: string, token: string) =>
  fetch(url, { headers: { authorization: `Bearer ${token}` } });

describe('disabled users at the gateway', { timeout: 90_000 }, () => {
  it("refuses a disabled user's valid token on Express and proxied routes with a 403, and lets it in once enabled", async () => {
    const { issuer, upstream, database, table } = await setUp(USERS_TARGETS[0]);
    const url = await gateway(issuer, upstream, database, table);
    const alice = await userOf(url, 'alice');
    await userOf(url, 'bob');
    const aliceToken = await issuer.token({ sub: 'alice' });
    const bobToken = await issuer.token({ sub: 'bob' });
    expect((await get(`${url}/me`, aliceToken)).status).toBe(200);
    expect((await get(`${url}/private/x`, aliceToken)).status).toBe(200);

    expect((await call(`${url}/api/users/${alice}/disable`, 'POST')).body.status).toBe('disabled');
    const seenBefore = upstream.seen.length;
    for (const path of ['/me', '/private/x']) {
      const refused = await get(`${url}${path}`, aliceToken);
      expect(refused.status, path).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(await refused.json()).toMatchObject({
        code: 'AUTH_IDENTITY_REFUSED',
        detail: 'This account is disabled.',
      });
    }
    expect(upstream.seen.length).toBe(seenBefore);
    // On a route that needs no user, the disabled caller is only anonymous: nothing forwarded.
    const open = await get(`${url}/open/x`, aliceToken);
    expect(open.status).toBe(200);
    expect(upstream.seen.at(-1)?.['x-qwickapps-identity']).toBeUndefined();
    // Someone else is not affected.
    expect((await get(`${url}/me`, bobToken)).status).toBe(200);

    await call(`${url}/api/users/${alice}/enable`, 'POST');
    expect((await get(`${url}/me`, aliceToken)).status).toBe(200);
    expect((await get(`${url}/private/x`, aliceToken)).status).toBe(200);
  });

  it('refuses at once a user the provider sync disabled (blocked at Auth0)', async () => {
    const standIn = await startAuth0StandIn([
      { user_id: 'auth0|dora', email: 'dora@example.com', name: 'Dora' },
    ]);
    cleanups.push(() => standIn.close());
    // Tokens as the tenant signs them: issuer https://<domain>/, subject the user_id.
    const issuer = `https://${standIn.domain}/`;
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience('https://api.example')
      .setSubject('auth0|dora')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const { app, url } = await startUsersApp({
      database: { url: 'memory://' },
      users: {
        sync: {
          provider: 'auth0',
          domain: standIn.domain,
          clientId: standIn.clientId,
          clientSecret: standIn.clientSecret,
          managementUrl: standIn.url,
        },
      },
      plugins: [
        createAuthPlugin({
          providers: [
            jwtAdapter({
              issuer,
              audience: 'https://api.example',
              publicKeys: [jwk as { kty: string }],
              algorithms: ['ES256'],
            }),
          ],
          forward: false,
        }),
        meRoute(),
      ],
    });
    cleanups.push(() => app.stop());
    expect((await call(`${url}/api/users/sync`, 'POST')).body).toMatchObject({ created: 1 });
    expect((await get(`${url}/me`, token)).status).toBe(200);
    standIn.users[0].blocked = true;
    expect((await call(`${url}/api/users/sync`, 'POST')).body).toMatchObject({ disabled: 1 });
    const refused = await get(`${url}/me`, token);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'AUTH_IDENTITY_REFUSED' });
  });

  const postgres = USERS_TARGETS.find((target) => target.provider === 'postgres')!;
  it.skipIf(!postgres.available)(
    'refuses a user disabled on another instance within disabledRefresh',
    async () => {
      const { issuer, upstream, database, table } = await setUp(postgres);
      const first = await gateway(issuer, upstream, database, table);
      const second = await gateway(issuer, upstream, database, table);
      const carol = await userOf(first, 'carol');
      const token = await issuer.token({ sub: 'carol' });
      expect((await get(`${second}/me`, token)).status).toBe(200);
      await call(`${first}/api/users/${carol}/disable`, 'POST');
      const disabledAt = Date.now();
      // The instance that disabled the user refuses at once.
      expect((await get(`${first}/me`, token)).status).toBe(403);
      let status = 200;
      while (status === 200 && Date.now() - disabledAt < 5_000) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        status = (await get(`${second}/me`, token)).status;
      }
      expect(status).toBe(403);
      // disabledRefresh is 300 ms; the rest is slack for a loaded machine.
      expect(Date.now() - disabledAt).toBeLessThan(1_500);
    },
  );
});
