import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeysPlugin } from '../plugins/api-keys/index.js';
import { createAuthPlugin } from '../plugins/auth/index.js';
import { testIssuer } from '../plugins/auth/test-support/gateway-kit.js';
import { createCachePlugin } from '../plugins/cache/index.js';
import { createConfigPlugin } from '../plugins/config/index.js';
import { createDatabasePlugin } from '../plugins/database/index.js';
import {
  freePorts,
  servedVersion,
  startTrafficGateway,
  type TrafficGateway,
} from '../plugins/traffic/test-support/gateway.js';
import { rawRequest } from '../../test/support/http.js';
import { createKey as keyOf } from './test-support/keys.js';
import { cli } from './test-support/run-cli.js';

/**
 * A CI pipeline's key: a gateway with the database (embedded), the auth plugin as the admin
 * guard, API keys, and the traffic plugin over real release processes; the CLI spawned as a
 * pipeline runs it, with QWICKAPPS_TOKEN.
 */
let directory: string;
let gateway: TrafficGateway;
let admin: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-token-'));
  const issuer = await testIssuer();
  admin = await issuer.token({ sub: 'root', roles: ['admin'] });
  gateway = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(directory, 'state.json'),
    plugins: [
      createDatabasePlugin({ url: 'memory://' }),
      createAuthPlugin({ providers: [issuer.provider], controlPanel: { adminRoles: ['admin'] } }),
      createApiKeysPlugin(),
      createConfigPlugin(),
      createCachePlugin(),
    ],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await rm(directory, { recursive: true, force: true });
});

const createKey = (scopes: string[]) => keyOf(gateway.url, admin, scopes);

/** Calls the gateway with the key as a bearer token: the status and the parsed answer. */
async function call(
  key: string,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

const env = (token: string) => ({ QWICKAPPS_URL: gateway.url, QWICKAPPS_TOKEN: token });

describe('qwickapps CLI with a scoped key (QWICKAPPS_TOKEN)', () => {
  it('deploys its one service and can do nothing else, each refusal a 403 naming the missing permission', async () => {
    const { key } = await createKey(['traffic:deploy:api']);
    // A wrong password beside it does not matter: the token wins.
    const deployed = await cli(['deploy', 'api', 'v1', '--interval', '100'], {
      ...env(key),
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'wrong',
    });
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toContain('v1 is active in slot-a.');
    expect(deployed.stdout).not.toContain(key);
    expect(await servedVersion(gateway)).toBe('v1');
    // The deploy is recorded as the key's (the gateway itself promoted the first release).
    const actors = gateway.traffic.history('api', 10).map((transition) => transition.actor);
    expect(actors).toContainEqual(expect.stringMatching(/^api-key\|/));

    // v2 lands as a candidate; promoting it is not the key's to do.
    const second = await cli(['deploy', 'api', 'v2', '--interval', '50'], env(key));
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('v2 is healthy in slot-b');
    const promote = await cli(['promote', 'api'], env(key));
    expect(promote.code).toBe(1);
    expect(promote.stderr).toBe(
      'qwickapps: This needs the permission traffic:promote, or its part for what the call acts on (traffic:promote:<name>), or an admin role. [AUTH_PERMISSION_MISSING] The key in QWICKAPPS_TOKEN (or --token) lacks that permission: give it a key with that scope.\n',
    );
    expect(promote.stderr).not.toContain(key);
    expect(await servedVersion(gateway)).toBe('v1');

    // Refused at the gate (nothing of the permission: the body is never read), or once the body
    // (or query) names the service.
    const refusals: [method: 'GET' | 'POST', url: string, body: unknown, missing: string][] = [
      ['POST', '/cpanel/api/traffic/promote', { service: 'api' }, 'traffic:promote'],
      ['POST', '/cpanel/api/traffic/rollback', { service: 'api' }, 'traffic:rollback'],
      [
        'POST',
        '/cpanel/api/traffic/deploy',
        { service: 'web', version: 'v1' },
        'traffic:deploy:web',
      ],
      ['GET', '/cpanel/api/traffic?service=web', undefined, 'traffic:read'],
      ['GET', '/cpanel/api/traffic?service=api', undefined, 'traffic:read'],
      ['GET', '/cpanel/api/traffic/deploy?service=web', undefined, 'traffic:deploy:web'],
      ['GET', '/cpanel/api/traffic', undefined, 'traffic:read'],
      ['GET', '/api/config', undefined, 'config:read'],
      ['POST', '/api/cache/flush', undefined, 'cache:flush'],
    ];
    for (const [method, url, body, missing] of refusals) {
      const refused = await call(key, method, url, body);
      expect({ url, status: refused.status, type: refused.type }).toEqual({
        url,
        status: 403,
        type: 'application/problem+json',
      });
      expect(refused.body).toMatchObject({ code: 'AUTH_PERMISSION_MISSING', missing });
    }
    // It follows its own service's deploy (what the CLI polls while it waits), and only that.
    const progress = await call(key, 'GET', '/cpanel/api/traffic/deploy?service=api');
    expect(progress).toMatchObject({ status: 200, body: { name: 'api' } });
    // The service is read where the handler reads it: a body on a GET names nothing.
    const named = JSON.stringify({ service: 'api' });
    const smuggled = await rawRequest(`${gateway.url}/cpanel/api/traffic/deploy?service=web`, {
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(named)),
      },
      body: named,
    });
    expect(smuggled.status).toBe(403);
    expect(JSON.parse(smuggled.text)).toMatchObject({ missing: 'traffic:deploy:web' });
    // Admin-only routes stay so: the key holds no permission they name.
    // Creating keys is one: a key that could would give itself any scope.
    const mint = await call(key, 'POST', '/api/keys', { name: 'more', scopes: ['*'] });
    expect(mint).toMatchObject({ status: 403, body: { code: 'AUTH_FORBIDDEN' } });

    // The deploy of another service through the CLI says the same.
    const other = await cli(['deploy', 'web', 'v1'], env(key));
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('traffic:deploy:web');
  });

  it('lets a key for every service past the check, and an admin key do everything', async () => {
    const { key: anyService } = await createKey(['traffic:deploy']);
    // Past the permission: the traffic plugin itself answers that there is no such service.
    const unknown = await call(anyService, 'POST', '/cpanel/api/traffic/deploy', {
      service: 'web',
      version: 'v1',
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'TRAFFIC_SERVICE_NOT_FOUND' } });
    // It names no service to read: the whole list needs traffic:read.
    expect((await call(anyService, 'GET', '/cpanel/api/traffic')).status).toBe(403);

    // A key for another service's promotions passes the gate, and is refused once the body names api.
    const { key: webPromoter } = await createKey(['traffic:promote:web']);
    expect(
      await call(webPromoter, 'POST', '/cpanel/api/traffic/promote', { service: 'api' }),
    ).toMatchObject({
      status: 403,
      body: { code: 'AUTH_PERMISSION_MISSING', missing: 'traffic:promote:api' },
    });

    const { key: adminKey } = await createKey(['admin:*']);
    expect((await call(adminKey, 'GET', '/api/config')).status).toBe(200);
    expect((await call(adminKey, 'POST', '/api/cache/flush')).body).toMatchObject({
      flushed: true,
    });
    const status = await cli(['--token', adminKey, 'status', 'api', '--json'], {
      QWICKAPPS_URL: gateway.url,
    });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ services: [{ name: 'api' }] });
    // After the first test v2 waits as a candidate behind v1: the admin key promotes it.
    const promoted = await cli(['promote', 'api'], env(adminKey));
    expect(promoted.stderr).toBe('');
    expect(promoted.code).toBe(0);
    expect(await servedVersion(gateway)).toBe('v2');
  });

  it('refuses a revoked key at once with 401, and the hint names QWICKAPPS_TOKEN', async () => {
    const { id, key } = await createKey(['traffic:read:api']);
    expect((await cli(['status', 'api'], env(key))).code).toBe(0);
    const revoked = await fetch(`${gateway.url}/api/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(revoked.status).toBe(204);
    const refused = await cli(['status', 'api'], env(key));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[AUTH_TOKEN_INVALID\] Check QWICKAPPS_TOKEN/);
    expect(refused.stderr).toContain('revoked, expired or mistyped');
    expect(refused.stderr).not.toContain(key);
    expect((await call(key, 'GET', '/cpanel/api/traffic?service=api')).status).toBe(401);
  });

  it('says in --help where the token comes from, and never prints one', async () => {
    const help = await cli(['--help'], env('qwk_secret_never_shown'));
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--token <token>');
    expect(help.stdout).toContain('QWICKAPPS_TOKEN');
    expect(help.stdout).toContain('wins over ADMIN_USER');
    expect(help.stdout).not.toContain('qwk_secret_never_shown');
  });
});
