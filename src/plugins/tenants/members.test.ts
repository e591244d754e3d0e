import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, PluginLifecycleError } from '../../core/errors.js';
import { createUsersPlugin } from '../users/index.js';
import { call, startUsersApp } from '../users/test-support/users-app.js';
import { TARGETS, removeTempDirs, type Sandbox } from '../database/test-support/targets.js';
import { startTenantApp, type TenantApp } from './test-support/tenant-app.js';

afterAll(removeTempDirs);
const running: { app: { stop(): Promise<void> } }[] = [];
const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((started) => started.app.stop()));
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
});

async function start(
  provider: string,
  ...rest: Parameters<typeof startTenantApp> extends [unknown, ...infer Tail] ? Tail : never
): Promise<{ started: TenantApp; sandbox: Sandbox }> {
  const target = TARGETS.find((candidate) => candidate.provider === provider)!;
  const sandbox = await target.sandbox();
  sandboxes.push(sandbox);
  const started = await startTenantApp(sandbox.options, ...rest);
  running.push(started);
  return { started, sandbox };
}

const json = async (response: Response) => ({
  status: response.status,
  type: response.headers.get('content-type'),
  body: (await response.json()) as Record<string, unknown>,
});

describe.each(TARGETS)('memberships on $provider', (target) => {
  it.skipIf(!target.available)(
    'are added, listed per tenant and per user, replaced and removed through the admin API',
    async () => {
      const schemas = target.provider === 'postgres' || target.provider === 'pglite';
      const { started, sandbox } = await start(target.provider, { sharedSchema: !schemas });
      const [t1, t2] = [sandbox.tenant('t1'), sandbox.tenant('t2')];
      const put = (tenant: string, user: string, roles: string[]) =>
        started.asAdmin('PUT', `/api/tenants/${tenant}/members/${encodeURIComponent(user)}`, {
          roles,
        });
      const set = await json(await put(t1, 'jwt|alice', ['viewer', 'viewer']));
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({ tenantId: t1, userId: 'jwt|alice', roles: ['viewer'] });
      await put(t1, 'jwt|bob', ['editor']);
      await put(t2, 'jwt|bob', ['viewer']);
      // Replaced, not added twice.
      await put(t2, 'jwt|bob', ['editor', 'viewer']);

      const members = await json(await started.asAdmin('GET', `/api/tenants/${t1}/members`));
      expect(
        (members.body.members as { userId: string; roles: string[] }[]).map((m) => [
          m.userId,
          m.roles,
        ]),
      ).toEqual([
        ['jwt|alice', ['viewer']],
        ['jwt|bob', ['editor']],
      ]);
      const ofBob = await json(
        await started.asAdmin('GET', `/api/tenants?user=${encodeURIComponent('jwt|bob')}`),
      );
      expect(
        (ofBob.body.memberships as { tenantId: string; roles: string[] }[]).map((m) => [
          m.tenantId,
          m.roles,
        ]),
      ).toEqual([
        [t1, ['editor']],
        [t2, ['editor', 'viewer']],
      ]);
      const tenants = await json(await started.asAdmin('GET', '/api/tenants'));
      expect(tenants.body.tenants).toEqual([
        { tenantId: t1, members: 2 },
        { tenantId: t2, members: 1 },
      ]);

      expect((await started.asAdmin('DELETE', `/api/tenants/${t1}/members/jwt|alice`)).status).toBe(
        204,
      );
      const again = await json(
        await started.asAdmin('DELETE', `/api/tenants/${t1}/members/jwt|alice`),
      );
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('TENANTS_MEMBER_NOT_FOUND');
    },
  );
});

describe('the memberships API', () => {
  it('answers malformed input with a 400 problem naming what is wrong, and anonymous callers with a 401', async () => {
    const { started } = await start('pglite', { maxRolesPerMember: 2 });
    const cases: [string, string, unknown, string, string?][] = [
      ['PUT', '/api/tenants/Bad-Id/members/jwt|a', { roles: [] }, 'TENANTS_INVALID_ID'],
      ['GET', '/api/tenants/a;b/members', undefined, 'TENANTS_INVALID_ID'],
      ['PUT', `/api/tenants/t1/members/${'x'.repeat(256)}`, { roles: [] }, 'TENANTS_INVALID_USER'],
      ['GET', `/api/tenants?user=`, undefined, 'TENANTS_INVALID_USER'],
      ['PUT', '/api/tenants/t1/members/jwt|a', [], 'TENANTS_INVALID_BODY', 'body'],
      ['PUT', '/api/tenants/t1/members/jwt|a', { roles: ['a b'] }, 'TENANTS_INVALID_BODY', 'roles'],
      [
        'PUT',
        '/api/tenants/t1/members/jwt|a',
        { roles: ['a', 'b', 'c'] },
        'TENANTS_INVALID_BODY',
        'roles',
      ],
      [
        'PUT',
        '/api/tenants/t1/members/jwt|a',
        { roles: [], owner: true },
        'TENANTS_INVALID_BODY',
        'owner',
      ],
    ];
    for (const [method, path, body, code, field] of cases) {
      const answer = await json(await started.asAdmin(method, path, body));
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.type).toBe('application/problem+json');
      expect(answer.body.code, `${method} ${path}`).toBe(code);
      if (field) expect(answer.body.field).toBe(field);
    }
    const anonymous = await fetch(`${started.url}/api/tenants`, {
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(anonymous.status).toBe(401);
  });
});

describe('globalRoles', () => {
  it('counts the named token roles inside a tenant, yet never makes a non-member one', async () => {
    const { started, sandbox } = await start('pglite', { globalRoles: ['editor'] });
    const [t1, t2] = [sandbox.tenant('t1'), sandbox.tenant('t2')];
    await started.asAdmin('PUT', `/api/tenants/${t1}/members/jwt|dana`, { roles: ['viewer'] });
    const token = await started.issuer.token({ sub: 'dana', roles: ['editor', 'auditor'] });
    const write = (tenant: string) =>
      fetch(`${started.url}/items`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'x-tenant-id': tenant,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ id: 1, name: 'by dana' }),
      });
    const inT1 = await write(t1);
    expect(inT1.status).toBe(201);
    expect(await inT1.json()).toEqual({ tenant: t1, roles: ['viewer', 'editor'] });
    expect((await json(await write(t2))).body.code).toBe('TENANTS_NOT_A_MEMBER');
  });
});

describe('configuration', () => {
  it('refuses a provider without schemas unless sharedSchema is spelled out', async () => {
    const failure = await start('sqlite').catch((error: unknown) => error);
    // A problem found in onInit: the app names the plugin, the cause names the option.
    expect(failure).toBeInstanceOf(PluginLifecycleError);
    const cause = (failure as PluginLifecycleError).cause;
    expect(cause).toBeInstanceOf(ConfigError);
    expect((cause as ConfigError).message).toContain('plugins.tenants.sharedSchema');
  });

  it('names every bad option at once', async () => {
    const failure = await start('pglite', {
      from: { header: 'X Tenant' },
      maxRolesPerMember: 0,
      globalRoles: ['no spaces'],
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    const message = (failure as ConfigError).message;
    for (const option of [
      'plugins.tenants.from',
      'plugins.tenants.maxRolesPerMember',
      'plugins.tenants.globalRoles',
    ])
      expect(message).toContain(option);
  });
});

describe("the users API and a tenant's members", () => {
  it('lists only the members of the tenant asked for', async () => {
    const { started, sandbox } = await start('pglite', {}, [
      createUsersPlugin({ fields: { email: { required: true }, name: {} } }),
    ]);
    const t1 = sandbox.tenant('t1');
    const create = async (email: string) =>
      (await json(await started.asAdmin('POST', '/api/users', { email, name: email }))).body
        .id as string;
    const [erin, frank] = [await create('erin@example.com'), await create('frank@example.com')];
    await started.asAdmin('PUT', `/api/tenants/${t1}/members/${erin}`, { roles: ['viewer'] });
    const listed = await json(await started.asAdmin('GET', `/api/users?tenant=${t1}`));
    expect(listed.status).toBe(200);
    expect((listed.body.users as { id: string }[]).map((user) => user.id)).toEqual([erin]);
    const all = await json(await started.asAdmin('GET', '/api/users'));
    expect((all.body.users as { id: string }[]).map((user) => user.id).sort()).toEqual(
      [erin, frank].sort(),
    );
    const bad = await json(await started.asAdmin('GET', '/api/users?tenant=Nope!'));
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('TENANTS_INVALID_ID');
  });

  it('refuses ?tenant= with a 400 when no tenants plugin is registered', async () => {
    const started = await startUsersApp({ database: { url: 'memory://' }, users: {} });
    running.push(started);
    const answer = await call(`${started.url}/api/users?tenant=t1`, 'GET');
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('USERS_INVALID_QUERY');
  });
});
