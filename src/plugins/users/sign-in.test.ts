import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, type App, type ServerPlugin } from '../../index.js';
import { freePort } from '../../../test/support/ports.js';
import { auth0Adapter, createAuthPlugin, type AuthUser } from '../auth/index.js';
import { startAuth0Op, type Auth0Op } from '../auth/test-support/auth0-op.js';
import { signIn, type CookieJar } from '../auth/test-support/code-flow.js';
import { USER_ID_CLAIM } from './index.js';
import { call, startUsersApp } from './test-support/users-app.js';

const ALICE = { login: 'user-alice', password: 'alice-password' };
const BOB = { login: 'user-bob', password: 'bob-password' };

let op: Auth0Op;
const apps: App[] = [];
beforeAll(async () => {
  op = await startAuth0Op();
});
afterAll(() => op.close());
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

/** An app with the database (PGlite), the auth plugin signing in at the OP, and users. */
async function start(plugins: ServerPlugin<unknown>[] = []): Promise<string> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  op.registerClient({ redirectUri: `${url}/auth/callback`, postLogoutRedirectUri: `${url}/` });
  const { app } = await startUsersApp({
    port,
    database: { url: 'memory://' },
    users: { fields: { email: { required: true, unique: true }, name: { required: true } } },
    plugins: [
      createAuthPlugin({
        publicUrl: url,
        providers: [
          auth0Adapter({
            issuer: op.issuer,
            clientId: op.clientId,
            clientSecret: op.clientSecret,
            audience: op.audience,
          }),
        ],
      }),
      ...plugins,
    ],
  });
  apps.push(app);
  return url;
}

async function me(url: string, jar: CookieJar): Promise<{ status: number; user?: AuthUser }> {
  const response = await jar.fetch(`${url}/auth/me`);
  return {
    status: response.status,
    user: response.ok ? ((await response.json()) as AuthUser) : undefined,
  };
}

type Listed = { users: { id: string; email: string }[] };

describe('users at sign-in', () => {
  it('creates the user at the first sign-in, finds it by issuer and subject after, and the session carries its id', async () => {
    const url = await start();
    const first = await signIn(`${url}/auth/login`, ALICE);
    expect(first.response.status).toBe(303);
    const listed = (await call(`${url}/api/users`, 'GET')).body as Listed;
    expect(listed.users).toHaveLength(1);
    const userId = listed.users[0].id;
    expect(listed.users[0]).toMatchObject({ email: 'alice@example.com', name: 'Alice' });
    const detail = await call(`${url}/api/users/${userId}`, 'GET');
    expect(detail.body.identities).toEqual([
      expect.objectContaining({
        issuer: op.issuer,
        subject: 'user-alice',
        authId: 'auth0|user-alice',
      }),
    ]);
    const session = await me(url, first.jar);
    expect(session.user).toMatchObject({ id: 'auth0|user-alice' });
    expect(session.user?.claims[USER_ID_CLAIM]).toBe(userId);

    const again = await signIn(`${url}/auth/login`, ALICE);
    expect((await me(url, again.jar)).user?.claims[USER_ID_CLAIM]).toBe(userId);
    expect(((await call(`${url}/api/users`, 'GET')).body as Listed).users).toHaveLength(1);
  });

  it('signs a second linked identity in as the same user', async () => {
    const url = await start();
    await signIn(`${url}/auth/login`, ALICE);
    const [alice] = ((await call(`${url}/api/users`, 'GET')).body as Listed).users;
    const linked = await call(`${url}/api/users/${alice.id}/identities`, 'POST', {
      issuer: op.issuer,
      subject: 'user-bob',
    });
    expect(linked.status).toBe(201);
    expect(linked.body.identities).toHaveLength(2);
    const again = await call(`${url}/api/users/${alice.id}/identities`, 'POST', {
      issuer: op.issuer,
      subject: 'user-bob',
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('USERS_IDENTITY_TAKEN');

    const bob = await signIn(`${url}/auth/login`, BOB);
    expect(bob.response.status).toBe(303);
    const session = await me(url, bob.jar);
    expect(session.user).toMatchObject({ id: 'auth0|user-bob', email: 'bob@example.com' });
    expect(session.user?.claims[USER_ID_CLAIM]).toBe(alice.id);
    // No user was made for bob's own identity.
    expect(((await call(`${url}/api/users`, 'GET')).body as Listed).users).toHaveLength(1);
  });

  it('disabling a user ends its sessions at once and refuses its next sign-in with a 403', async () => {
    const url = await start();
    const { jar } = await signIn(`${url}/auth/login`, ALICE);
    const other = await signIn(`${url}/auth/login`, ALICE);
    expect((await me(url, jar)).status).toBe(200);
    const [alice] = ((await call(`${url}/api/users`, 'GET')).body as Listed).users;

    const disabled = await call(`${url}/api/users/${alice.id}/disable`, 'POST');
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ status: 'disabled', sessionsEnded: 2 });
    expect((await me(url, jar)).status).toBe(401);
    expect((await me(url, other.jar)).status).toBe(401);

    const refused = await signIn(`${url}/auth/login`, ALICE);
    expect(refused.response.status).toBe(403);
    expect(refused.response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await refused.response.json()).toMatchObject({
      code: 'AUTH_SIGN_IN_REFUSED',
      detail: 'This account is disabled.',
    });
    expect((await me(url, refused.jar)).status).toBe(401);

    await call(`${url}/api/users/${alice.id}/enable`, 'POST');
    expect((await signIn(`${url}/auth/login`, ALICE)).response.status).toBe(303);
  });

  it("a product's refusing hook ends the login in a 403 before any user is made", async () => {
    const invitations = definePlugin({
      name: 'invitations',
      dependencies: ['auth'],
      onInit(ctx) {
        ctx
          .get('auth')
          .onSignIn(async (user) =>
            user.email === 'bob@example.com' ? { refuse: 'Bob is not invited.' } : user,
          );
      },
    });
    const url = await start([invitations]);
    const bob = await signIn(`${url}/auth/login`, BOB);
    expect(bob.response.status).toBe(403);
    expect(await bob.response.json()).toMatchObject({
      status: 403,
      code: 'AUTH_SIGN_IN_REFUSED',
      detail: 'Bob is not invited.',
    });
    expect((await me(url, bob.jar)).status).toBe(401);
    expect(((await call(`${url}/api/users`, 'GET')).body as Listed).users).toEqual([]);
    expect((await signIn(`${url}/auth/login`, ALICE)).response.status).toBe(303);
  });

  it('with a roles service, a signed-in caller needs users:read to list and users:write to change', async () => {
    const roles = definePlugin({
      name: 'product-roles',
      onInit(ctx) {
        const provide = ctx.provide as unknown as (key: string, value: unknown) => void;
        provide('roles', {
          can: (user: AuthUser, permission: string) =>
            user.subject === 'user-alice' && permission === 'users:read',
        });
      },
    });
    const url = await start([roles]);
    const { jar } = await signIn(`${url}/auth/login`, ALICE);
    expect((await jar.fetch(`${url}/api/users`)).status).toBe(200);
    const create = await jar.fetch(`${url}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ email: 'new@example.com', name: 'New' }),
    });
    expect(create.status).toBe(403);
    expect(create.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await create.json()).toMatchObject({
      code: 'USERS_FORBIDDEN',
      permission: 'users:write',
    });
    const { jar: bobJar } = await signIn(`${url}/auth/login`, BOB);
    const bobList = await bobJar.fetch(`${url}/api/users`);
    expect(bobList.status).toBe(403);
    expect(await bobList.json()).toMatchObject({ permission: 'users:read' });
  });
});
