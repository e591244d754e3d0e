import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../index.js';
import { definePlugin } from '../../core/plugin.js';
import { createAuthPlugin } from '../auth/index.js';
import { testIssuer, type TestIssuer } from '../auth/test-support/gateway-kit.js';
import { createRolesPlugin, requirePermission, type RolesOptions } from './index.js';
import { startApp, user } from './test-support/roles-app.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await testIssuer();
});

/** Authors edit their own posts' title and body; moderators any post's status; admins all. */
const PUBLISHING: RolesOptions = {
  model: 'abac',
  permissions: {
    admin: ['*'],
    reader: ['read:post'],
    author: [
      {
        permission: 'update:post',
        conditions: { authorId: '${user.id}' },
        fields: ['title', 'body'],
      },
    ],
    moderator: [{ permission: 'update:post', fields: ['status'] }],
    member: [{ permission: 'read:post', conditions: { orgId: '${user.claims.org}' } }],
  },
  roles: { author: { inherits: ['reader'] } },
};

const posts: Record<string, { id: string; authorId: string }> = {
  mine: { id: 'mine', authorId: 'jwt|alice' },
  theirs: { id: 'theirs', authorId: 'jwt|bob' },
};

async function started() {
  const blog = definePlugin({
    name: 'blog',
    routes: [
      {
        method: 'patch',
        path: '/api/posts/:id',
        handler: [
          requirePermission('update:post', { resource: (req) => posts[String(req.params.id)] }),
          (req, res) => void res.json({ updated: req.params.id }),
        ],
      },
    ],
  });
  const app = await startApp([
    createAuthPlugin({ providers: [issuer.provider] }),
    createRolesPlugin(PUBLISHING),
    blog,
  ]);
  cleanups.push(() => app.app.stop());
  return app;
}

describe('abac on @casl/ability', () => {
  it('allows an update only where the condition on the resource holds', async () => {
    const { app } = await started();
    const roles = app.context.services.get('roles');
    const alice = user('jwt|alice', ['author']);
    expect(roles.can(alice, 'update:post', posts.mine)).toBe(true);
    expect(roles.can(alice, 'update:post', posts.theirs)).toBe(false);
    // Inherited and unconditional: any post.
    expect(roles.can(alice, 'read:post', posts.theirs)).toBe(true);
    expect(roles.can(alice, 'delete:post', posts.mine)).toBe(false);
    // Without a resource: may the user update some post (the gateway's question).
    expect(roles.can(alice, 'update:post')).toBe(true);
    expect(roles.can(user('jwt|r', ['reader']), 'update:post')).toBe(false);
    expect(roles.can(user('jwt|root', ['admin']), 'delete:post', posts.theirs)).toBe(true);

    const denied = roles.explain(alice, 'update:post', posts.theirs);
    expect(denied).toMatchObject({ allowed: false, reason: 'conditions-not-met' });
    const granted = roles.explain(alice, 'update:post', posts.mine);
    expect(granted).toMatchObject({
      allowed: true,
      grant: { role: 'author', pattern: 'update:post', conditions: { authorId: '${user.id}' } },
    });
  });

  it('reads conditions from claims, per user (an ability is never shared between users)', async () => {
    const { app } = await started();
    const roles = app.context.services.get('roles');
    const acme = { ...user('jwt|m1', ['member']), claims: { org: 'acme' } };
    const other = { ...user('jwt|m2', ['member']), claims: { org: 'globex' } };
    expect(roles.can(acme, 'read:post', { orgId: 'acme' })).toBe(true);
    expect(roles.can(other, 'read:post', { orgId: 'acme' })).toBe(false);
    // Same id and roles, another claim: the cache keys on what the conditions read.
    expect(roles.can({ ...acme, claims: { org: 'globex' } }, 'read:post', { orgId: 'acme' })).toBe(
      false,
    );
  });

  it('limits fields: the grants that apply to the resource decide which', async () => {
    const { app } = await started();
    const roles = app.context.services.get('roles');
    const alice = user('jwt|alice', ['author']);
    expect(roles.fieldsFor(alice, 'update:post', posts.mine)?.sort()).toEqual(['body', 'title']);
    expect(roles.fieldsFor(alice, 'update:post', posts.theirs)).toEqual([]);
    const both = user('jwt|alice', ['author', 'moderator']);
    expect(roles.fieldsFor(both, 'update:post', posts.mine)?.sort()).toEqual([
      'body',
      'status',
      'title',
    ]);
    expect(roles.fieldsFor(both, 'update:post', posts.theirs)).toEqual(['status']);
    expect(roles.fieldsFor(user('jwt|root', ['admin']), 'update:post', posts.mine)).toBeUndefined();
  });

  it('guards an Express route with the resource it loads: 200 on her post, 403 on another', async () => {
    const { url } = await started();
    const headers = {
      authorization: `Bearer ${await issuer.token({ sub: 'alice', roles: ['author'] })}`,
    };
    const mine = await fetch(`${url}/api/posts/mine`, { method: 'PATCH', headers });
    expect(mine.status).toBe(200);
    const theirs = await fetch(`${url}/api/posts/theirs`, { method: 'PATCH', headers });
    expect(theirs.status).toBe(403);
    expect(await theirs.json()).toMatchObject({
      code: 'ROLES_PERMISSION_MISSING',
      missing: 'update:post',
    });
    const why = await fetch(`${url}/api/roles/explain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        user: { id: 'jwt|alice', roles: ['author'] },
        permission: 'update:post',
        resource: posts.mine,
      }),
    });
    expect(await why.json()).toMatchObject({
      decision: { allowed: true },
      fields: ['title', 'body'],
    });
  });

  it("refuses @casl/ability's own wildcard words at start-up, so a grant never widens silently", () => {
    const start = () =>
      createApp({
        name: 'abac-bad',
        port: 0,
        logger: { level: 'silent', stdout: false },
        plugins: [
          createRolesPlugin({ model: 'abac', permissions: { x: ['manage:post', 'read:all'] } }),
        ],
      });
    expect(start).toThrow(/permissions\.x\.0.*\n.*permissions\.x\.1/);
  });
});
