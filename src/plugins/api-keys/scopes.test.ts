import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../index.js';
import { ConfigError } from '../../core/errors.js';
import { createAuthPlugin } from '../auth/index.js';
import { createDatabasePlugin } from '../database/index.js';
import { createRolesPlugin } from '../roles/index.js';
import { createRoutingPlugin } from '../routing/index.js';
import {
  echoUpstream,
  startApp,
  testIssuer,
  type EchoUpstream,
  type StartedApp,
} from '../auth/test-support/gateway-kit.js';
import { createApiKeysPlugin } from './index.js';

describe('API key scopes with the roles plugin', () => {
  let started: StartedApp;
  let service: EchoUpstream;
  let admin: string;

  beforeAll(async () => {
    const issuer = await testIssuer();
    admin = await issuer.token({ sub: 'root', roles: ['admin'] });
    service = await echoUpstream();
    started = await startApp([
      createDatabasePlugin({ url: 'memory://' }),
      createRoutingPlugin({
        routes: [
          {
            id: 'orders',
            match: '/orders/*',
            target: service.url,
            permissions: ['read:orders'],
            health: false,
          },
        ],
      }),
      createAuthPlugin({ providers: [issuer.provider], controlPanel: { adminRoles: ['admin'] } }),
      createRolesPlugin({ permissions: { admin: ['*'] } }),
      createApiKeysPlugin(),
    ]);
  });
  afterAll(async () => {
    await started?.app.stop();
    await service?.close();
  });

  const keyWith = async (scopes: string[]): Promise<string> => {
    const response = await fetch(`${started.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: scopes.join(' '), scopes }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { key: string }).key;
  };
  const orders = (key: string) =>
    fetch(`${started.url}/orders/1`, { headers: { authorization: `Bearer ${key}` } });

  it('lets a wildcard scope cover the permission a route needs, and refuses another scope', async () => {
    expect((await orders(await keyWith(['read:*']))).status).toBe(200);
    const refused = await orders(await keyWith(['traffic:deploy']));
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'ROLES_PERMISSION_MISSING' });
  });

  it('lets a scope open the management route that names it, through the roles plugin', async () => {
    const reader = await keyWith(['api-keys:read']);
    const listed = await fetch(`${started.url}/api/keys`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    const revoke = await fetch(`${started.url}/api/keys/some-id`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(revoke.status).toBe(403);
    expect(await revoke.json()).toMatchObject({
      code: 'AUTH_PERMISSION_MISSING',
      missing: 'api-keys:revoke',
    });
  });
});

describe('API keys start-up', () => {
  const start = async (plugins: NonNullable<Parameters<typeof createApp>[0]['plugins']>) => {
    const app = createApp({
      name: 'keys-start-up',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent', stdout: false },
      shutdown: { signals: false, readinessDelay: 0 },
      plugins,
    });
    const error = await app.start().then(
      () => undefined,
      (failure: unknown) => failure as Error & { cause?: unknown },
    );
    await app.stop();
    return error?.cause;
  };

  it('fails with a ConfigError without the database plugin', async () => {
    const issuer = await testIssuer();
    const cause = await start([
      createAuthPlugin({ providers: [issuer.provider] }),
      createApiKeysPlugin(),
    ]);
    expect(cause).toBeInstanceOf(ConfigError);
    expect((cause as Error).message).toContain('createDatabasePlugin');
  });

  it('fails with a ConfigError without the auth plugin, which refuses bad keys', async () => {
    const cause = await start([createDatabasePlugin({ url: 'memory://' }), createApiKeysPlugin()]);
    expect(cause).toBeInstanceOf(ConfigError);
    expect((cause as Error).message).toContain('createAuthPlugin');
  });
});
