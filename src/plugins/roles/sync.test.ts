import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../../core/plugin.js';
import { TARGETS, removeTempDirs, type Sandbox } from '../../../test/support/databases.js';
import { createAuthPlugin } from '../auth/index.js';
import { testIssuer, type TestIssuer } from '../auth/test-support/gateway-kit.js';
import { requirePermission } from './index.js';
import { EDITORIAL, user, type StartedApp } from './test-support/roles-app.js';
import { send, startStored } from './test-support/stored.js';

afterAll(removeTempDirs);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await testIssuer();
});

async function sandboxOf(provider: string): Promise<Sandbox> {
  const sandbox = await TARGETS.find((target) => target.provider === provider)!.sandbox();
  cleanups.push(() => sandbox.cleanup());
  return sandbox;
}

/** A product route guarded by a permission, as a gateway's service would guard one. */
const content = definePlugin({
  name: 'content',
  routes: [
    {
      method: 'put',
      path: '/api/content/:id',
      handler: [requirePermission('write:content'), (_req, res) => void res.json({ saved: true })],
    },
  ],
});

async function instance(sandbox: Sandbox, options = {}, guarded = false): Promise<StartedApp> {
  const started = await startStored(
    sandbox.options,
    options,
    guarded ? [createAuthPlugin({ providers: [issuer.provider] }), content] : [],
  );
  cleanups.push(() => started.app.stop());
  return started;
}

const available = (provider: string) =>
  TARGETS.some((target) => target.provider === provider && target.available);

describe.runIf(available('postgres'))('two instances on one PostgreSQL', () => {
  it("decides with a change made on A from B's very next request, every time", async () => {
    const sandbox = await sandboxOf('postgres');
    // A long timeout, and no warning that it ran out: B's acknowledgements answered each change.
    const a = await instance(sandbox, { propagationTimeout: 5_000 });
    const b = await instance(sandbox, {}, true);
    const headers = { authorization: `Bearer ${await issuer.token({ sub: 'dana' })}` };
    const write = () => fetch(`${b.url}/api/content/1`, { method: 'PUT', headers });
    expect((await write()).status).toBe(403);
    await send(`${a.url}/api/roles`, 'POST', { name: 'writer', grants: ['write:content'] });
    for (let round = 0; round < 20; round++) {
      const assigned = await send(`${a.url}/api/roles/assignments`, 'POST', {
        user: 'jwt|dana',
        role: 'writer',
      });
      expect(assigned.status).toBe(201);
      expect((await write()).status).toBe(200);
      const unassigned = await fetch(`${a.url}/api/roles/assignments/jwt%7Cdana/writer`, {
        method: 'DELETE',
      });
      expect(unassigned.status).toBe(204);
      expect((await write()).status).toBe(403);
    }
    // A role's grants changed on A count on B too.
    await send(`${a.url}/api/roles/assignments`, 'POST', { user: 'jwt|dana', role: 'writer' });
    await send(`${a.url}/api/roles/writer`, 'PUT', { grants: ['read:content'] });
    expect((await write()).status).toBe(403);
    expect(b.app.context.services.get('roles').can(user('jwt|dana'), 'read:content')).toBe(true);
    expect(a.logs.filter((line) => String(line.msg).includes('acknowledged'))).toEqual([]);
  }, 30_000);

  it('reloads after its listening connection comes back, so a change it missed counts', async () => {
    const sandbox = await sandboxOf('postgres');
    const a = await instance(sandbox);
    const b = await instance(sandbox);
    await send(`${a.url}/api/roles`, 'POST', { name: 'late', grants: ['see:late'] });
    const database = a.app.context.services.get('database');
    // Ends B's LISTEN connection (and A's: both listen on this schema's channel) server-side.
    await database.run(
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN "qwickapps_roles%' AND pid <> pg_backend_pid()`,
    );
    await send(`${a.url}/api/roles/assignments`, 'POST', { user: 'jwt|lee', role: 'late' });
    const roles = b.app.context.services.get('roles');
    await expect.poll(() => roles.can(user('jwt|lee'), 'see:late'), { timeout: 5_000 }).toBe(true);
  }, 15_000);
});

describe('the admin routes with a signed-in caller', () => {
  it('let admins in, and besides them holders of roles:read to read and roles:write to change', async () => {
    const sandbox = await sandboxOf('sqlite');
    const { url, app } = await startStored(
      sandbox.options,
      {
        permissions: {
          ...EDITORIAL.permissions,
          'roles-reader': ['roles:read'],
          'roles-editor': ['roles:*'],
        },
      },
      [
        createAuthPlugin({
          providers: [issuer.provider],
          controlPanel: { adminRoles: ['operator'] },
        }),
      ],
    );
    cleanups.push(() => app.stop());
    const as = async (roles: string[]) => ({
      authorization: `Bearer ${await issuer.token({ sub: 'ops', roles })}`,
      origin: url,
    });
    const role = { name: 'made', grants: ['make:things'] };
    // Neither an admin nor a holder of roles:read.
    expect((await send(`${url}/api/roles`, 'GET', undefined, await as([]))).status).toBe(403);
    const reader = await as(['roles-reader']);
    expect((await send(`${url}/api/roles/assignments`, 'GET', undefined, reader)).status).toBe(200);
    expect((await send(`${url}/api/roles`, 'POST', role, reader)).status).toBe(403);
    const editor = await as(['roles-editor']);
    expect((await send(`${url}/api/roles`, 'POST', role, editor)).status).toBe(201);
    // An admin needs neither.
    const operator = await as(['operator']);
    expect((await send(`${url}/api/roles/made`, 'DELETE', undefined, operator)).status).toBe(204);
  });
});

describe.each(['sqlite', 'mysql'].filter(available))('two instances on %s', (provider) => {
  it('B decides with a change made on A within refreshInterval', async () => {
    const sandbox = await sandboxOf(provider);
    const a = await instance(sandbox, { refreshInterval: 100 });
    const b = await instance(sandbox, { refreshInterval: 100 });
    await send(`${a.url}/api/roles`, 'POST', { name: 'writer', grants: ['write:content'] });
    const roles = b.app.context.services.get('roles');
    const answered = Date.now();
    await send(`${a.url}/api/roles/assignments`, 'POST', { user: 'jwt|dana', role: 'writer' });
    await expect
      .poll(() => roles.can(user('jwt|dana'), 'write:content'), { interval: 5, timeout: 2_000 })
      .toBe(true);
    // One interval, plus the revision read and the reload.
    expect(Date.now() - answered).toBeLessThan(600);
  });
});
