import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TARGETS, items, removeTempDirs, type Sandbox } from '../database/test-support/targets.js';
import type { TenantSource } from './options.js';
import { startTenantApp, type TenantApp } from './test-support/tenant-app.js';

afterAll(removeTempDirs);

const SOURCES: { name: string; from: TenantSource }[] = [
  { name: 'header', from: { header: 'x-tenant-id' } },
  { name: 'param', from: { param: 'tenant' } },
  { name: 'claim', from: { claim: 'org_id' } },
];

/** Schema per tenant: PostgreSQL (when the server runs) and PGlite. */
const targets = TARGETS.filter(
  (target) => target.provider === 'postgres' || target.provider === 'pglite',
);

describe.each(targets)('tenants on $provider', (target) => {
  describe.skipIf(!target.available).each(SOURCES)('from a $name', ({ name, from }) => {
    let sandbox: Sandbox;
    let started: TenantApp;
    let t1: string;
    let t2: string;

    beforeAll(async () => {
      sandbox = await target.sandbox();
      [t1, t2] = [sandbox.tenant('t1'), sandbox.tenant('t2')];
      started = await startTenantApp(sandbox.options, { from });
      await items(await started.db.forTenant(t1)).insert({ id: 1, name: 'row of t1' });
      await items(await started.db.forTenant(t2)).insert({ id: 2, name: 'row of t2' });
      for (const [tenant, user, roles] of [
        [t1, 'jwt|alice', ['viewer']],
        [t1, 'jwt|bob', ['editor']],
        [t2, 'jwt|bob', ['viewer']],
      ] as const) {
        const response = await started.asAdmin('PUT', `/api/tenants/${tenant}/members/${user}`, {
          roles,
        });
        expect(response.status).toBe(200);
      }
    });
    afterAll(async () => {
      await started?.app.stop();
      await sandbox?.cleanup();
    });

    /** A request that names `tenant` through the configured source only. */
    const call = async (
      who: { sub: string; roles?: string[] } | { key: string },
      tenant: string | undefined,
      init: { method?: string; body?: unknown } = {},
    ) => {
      const token =
        'key' in who
          ? who.key
          : await started.issuer.token({
              sub: who.sub,
              roles: who.roles ?? [],
              ...(name === 'claim' && tenant !== undefined ? { org_id: tenant } : {}),
            });
      const path = name === 'param' && tenant !== undefined ? `/t/${tenant}/items` : '/items';
      return fetch(`${started.url}${path}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(name === 'header' && tenant !== undefined ? { 'x-tenant-id': tenant } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    };

    const expectProblem = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const body = (await response.json()) as { code: string; reason?: string };
      expect(body.code).toBe(code);
      return body;
    };

    it("lets a member read its tenant's rows, and only those", async () => {
      const response = await call({ sub: 'alice' }, t1);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        tenant: t1,
        items: [{ id: 1, name: 'row of t1' }],
      });
    });

    it('refuses a member of one tenant in another with a 403 and its reason', async () => {
      const body = await expectProblem(
        await call({ sub: 'alice' }, t2),
        403,
        'TENANTS_NOT_A_MEMBER',
      );
      expect(body.reason).toBe('not-a-member');
    });

    it('takes the tenant from the configured source only: the others cannot name t2', async () => {
      // Every source names t2 except the configured one, which names t1.
      const token = await started.issuer.token({
        sub: 'alice',
        org_id: name === 'claim' ? t1 : t2,
      });
      const response = await fetch(`${started.url}/t/${name === 'param' ? t1 : t2}/items`, {
        headers: {
          authorization: `Bearer ${token}`,
          'x-tenant-id': name === 'header' ? t1 : t2,
        },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ tenant: t1, items: [{ id: 1, name: 'row of t1' }] });
    });

    it('answers 401 to anonymous callers, 400 to a missing or malformed tenant id', async () => {
      const path = name === 'param' ? `/t/${t1}/items` : '/items';
      const anonymous = await fetch(`${started.url}${path}`, { headers: { 'x-tenant-id': t1 } });
      await expectProblem(anonymous, 401, 'TENANTS_UNAUTHENTICATED');
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      await expectProblem(await call({ sub: 'alice' }, undefined), 400, 'TENANTS_MISSING');
      for (const bad of ['T1', 'a-b', 'x'.repeat(49)])
        await expectProblem(await call({ sub: 'alice' }, bad), 400, 'TENANTS_INVALID_ID');
    });

    it("gives a user of two tenants each tenant's own roles, not its token's", async () => {
      // bob's token says editor everywhere; only t1's membership makes him one.
      const write = (tenant: string, id: number) =>
        call({ sub: 'bob', roles: ['editor'] }, tenant, {
          method: 'POST',
          body: { id, name: `bob in ${tenant}` },
        });
      const inT1 = await write(t1, 10);
      expect(inT1.status).toBe(201);
      expect(await inT1.json()).toEqual({ tenant: t1, roles: ['editor'] });
      await expectProblem(await write(t2, 11), 403, 'ROLES_PERMISSION_MISSING');
      const readT2 = await call({ sub: 'bob' }, t2);
      expect(((await readT2.json()) as { items: unknown[] }).items).toEqual([
        { id: 2, name: 'row of t2' },
      ]);
      expect(await items(await started.db.forTenant(t1)).all()).toContainEqual({
        id: 10,
        name: `bob in ${t1}`,
      });
    });

    it('lets a key bound to a tenant act there with its scopes, and nowhere else', async () => {
      const created = await started.asAdmin('POST', '/api/keys', {
        name: 'ci of t1',
        scopes: ['read:items'],
        tenantId: t1,
      });
      expect(created.status).toBe(201);
      const { key, tenantId } = (await created.json()) as { key: string; tenantId: string };
      expect(tenantId).toBe(t1);
      const inT1 = await call({ key }, name === 'claim' ? undefined : t1);
      expect(inT1.status).toBe(200);
      expect(((await inT1.json()) as { tenant: string }).tenant).toBe(t1);
      if (name !== 'claim') {
        const body = await expectProblem(await call({ key }, t2), 403, 'TENANTS_KEY_BOUND');
        expect(body.reason).toBe('key-bound-elsewhere');
      }
      // Outside its tenant the key holds no permission: not even the admin API's list of keys.
      const admin = await fetch(`${started.url}/api/keys`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(admin.status).toBe(403);
    });

    it('refuses a removed member at once', async () => {
      await started.asAdmin('PUT', `/api/tenants/${t2}/members/jwt|carol`, { roles: ['viewer'] });
      expect((await call({ sub: 'carol' }, t2)).status).toBe(200);
      const removed = await started.asAdmin('DELETE', `/api/tenants/${t2}/members/jwt|carol`);
      expect(removed.status).toBe(204);
      await expectProblem(await call({ sub: 'carol' }, t2), 403, 'TENANTS_NOT_A_MEMBER');
    });
  });
});
