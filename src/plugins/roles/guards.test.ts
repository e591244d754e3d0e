import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../../core/plugin.js';
import { createAuthPlugin } from '../auth/index.js';
import {
  echoUpstream,
  testIssuer,
  type EchoUpstream,
  type TestIssuer,
} from '../auth/test-support/gateway-kit.js';
import { createRoutingPlugin } from '../routing/index.js';
import { createRolesPlugin, requirePermission } from './index.js';
import { EDITORIAL, startApp } from './test-support/roles-app.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await testIssuer();
});

/** A service route guarded by `requirePermission`. */
const content = definePlugin({
  name: 'content',
  routes: [
    {
      method: 'put',
      path: '/api/content/:id',
      handler: [
        requirePermission('write:content'),
        (req, res) => void res.json({ saved: req.params.id }),
      ],
    },
  ],
});

const bearer = async (claims: Record<string, unknown>) => ({
  authorization: `Bearer ${await issuer.token(claims)}`,
});

describe('requirePermission', () => {
  it('answers 401 without a user, 403 with the reason code and the missing permission, else passes', async () => {
    const { url, logs, app } = await startApp(
      [createAuthPlugin({ providers: [issuer.provider] }), createRolesPlugin(EDITORIAL), content],
      'debug',
    );
    cleanups.push(() => app.stop());
    const anonymous = await fetch(`${url}/api/content/1`, { method: 'PUT' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anonymous.json()).toMatchObject({ code: 'ROLES_UNAUTHENTICATED' });

    const viewer = await fetch(`${url}/api/content/1`, {
      method: 'PUT',
      headers: await bearer({ sub: 'val', roles: ['viewer'] }),
    });
    expect(viewer.status).toBe(403);
    expect(viewer.headers.get('content-type')).toBe('application/problem+json');
    const refusal = await viewer.json();
    expect(refusal).toMatchObject({
      status: 403,
      code: 'ROLES_PERMISSION_MISSING',
      missing: 'write:content',
    });
    // The caller learns what is missing, never which roles or grants the app has.
    expect(JSON.stringify(refusal)).not.toContain('read:*');
    const logged = logs.find((line) => line.msg === 'permission refused');
    expect(logged).toMatchObject({
      level: 'debug',
      user: 'jwt|val',
      decision: {
        allowed: false,
        reason: 'no-grant',
        closest: [{ role: 'viewer', pattern: 'read:*' }],
      },
    });

    const chief = await fetch(`${url}/api/content/7`, {
      method: 'PUT',
      headers: await bearer({ sub: 'cat', roles: ['chief'] }),
    });
    expect(chief.status).toBe(200);
    expect(await chief.json()).toEqual({ saved: '7' });
  });
});

describe("a gateway route's permissions", () => {
  async function gateway(upstream: EchoUpstream, withRoles: boolean) {
    const started = await startApp([
      createRoutingPlugin({
        routes: [
          {
            id: 'content',
            match: '/content/*',
            target: upstream.url,
            permissions: ['write:content'],
            health: false,
          },
        ],
      }),
      createAuthPlugin({ providers: [issuer.provider] }),
      ...(withRoles ? [createRolesPlugin(EDITORIAL)] : []),
    ]);
    cleanups.push(() => started.app.stop());
    return started;
  }

  it('goes through the roles plugin: an editor passes by role, a viewer gets 403 naming what is missing', async () => {
    const upstream = await echoUpstream();
    cleanups.push(() => upstream.close());
    const { url } = await gateway(upstream, true);
    const editor = await fetch(`${url}/content/1`, {
      headers: await bearer({ sub: 'ed', roles: ['editor'] }),
    });
    expect(editor.status).toBe(200);
    const viewer = await fetch(`${url}/content/1`, {
      headers: await bearer({ sub: 'vi', roles: ['viewer'] }),
    });
    expect(viewer.status).toBe(403);
    expect(viewer.headers.get('content-type')).toBe('application/problem+json');
    expect(await viewer.json()).toMatchObject({
      code: 'ROLES_PERMISSION_MISSING',
      missing: 'write:content',
    });
    expect((await fetch(`${url}/content/1`)).status).toBe(401);
    expect(upstream.seen).toHaveLength(1);
  });

  it("keeps the auth plugin's exact match without the roles plugin: a role alone does not pass", async () => {
    const upstream = await echoUpstream();
    cleanups.push(() => upstream.close());
    const { url } = await gateway(upstream, false);
    const editor = await fetch(`${url}/content/1`, {
      headers: await bearer({ sub: 'ed', roles: ['editor'] }),
    });
    expect(editor.status).toBe(403);
    expect(await editor.json()).toMatchObject({ code: 'AUTH_FORBIDDEN' });
    const holder = await fetch(`${url}/content/1`, {
      headers: await bearer({ sub: 'ho', permissions: ['write:content'] }),
    });
    expect(holder.status).toBe(200);
  });
});
