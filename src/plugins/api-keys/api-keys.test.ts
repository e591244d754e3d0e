import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthPlugin } from '../auth/index.js';
import { createDatabasePlugin, type DatabaseOptions } from '../database/index.js';
import { createRoutingPlugin } from '../routing/index.js';
import {
  FORWARD_SECRET,
  echoUpstream,
  startApp,
  testIssuer,
  type EchoUpstream,
  type StartedApp,
} from '../auth/test-support/gateway-kit.js';
import { createApiKeysPlugin } from './index.js';

type Created = { id: string; key: string; prefix: string; scopes: string[] };

const TARGETS: {
  provider: string;
  open(): Promise<{ options: DatabaseOptions; cleanup(): Promise<void> }>;
}[] = [
  {
    provider: 'pglite',
    open: async () => ({ options: { url: 'memory://' }, cleanup: async () => undefined }),
  },
  {
    provider: 'sqlite',
    open: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'qwick-keys-'));
      return {
        options: { url: `sqlite:${path.join(dir, 'app.db')}` },
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
];

describe.each(TARGETS)('API keys on $provider', (target) => {
  let started: StartedApp;
  let service: EchoUpstream;
  let admin: string;
  let cleanup: () => Promise<void>;

  const keysApi = (method: string, body?: unknown, token = admin, suffix = '') =>
    fetch(`${started.url}/api/keys${suffix}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const create = async (body: Record<string, unknown>): Promise<Created> => {
    const response = await keysApi('POST', body);
    expect(response.status).toBe(201);
    return (await response.json()) as Created;
  };
  const proxied = (route: string, key: string) =>
    fetch(`${started.url}/${route}/x`, { headers: { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    const issuer = await testIssuer();
    admin = await issuer.token({ sub: 'root', roles: ['admin'] });
    service = await echoUpstream();
    const opened = await target.open();
    cleanup = opened.cleanup;
    started = await startApp([
      createDatabasePlugin(opened.options),
      createRoutingPlugin({
        routes: [
          { id: 'svc', match: '/svc/*', target: service.url, auth: 'required', health: false },
          {
            id: 'deploy',
            match: '/deploy/*',
            target: service.url,
            permissions: ['traffic:deploy'],
            health: false,
          },
        ],
      }),
      createAuthPlugin({
        providers: [issuer.provider],
        forward: { secret: FORWARD_SECRET },
        controlPanel: { adminRoles: ['admin'] },
      }),
      createApiKeysPlugin(),
    ]);
  });
  afterAll(async () => {
    await started?.app.stop();
    await service?.close();
    await cleanup?.();
  });

  it('shows a new key once, with its prefix; the list never shows it', async () => {
    const created = await create({ name: 'ci', scopes: ['traffic:deploy', 'read:*'] });
    expect(created.key).toMatch(new RegExp(`^qwk_${created.id}_[A-Za-z0-9_-]{43}$`));
    expect(created).toMatchObject({
      prefix: `qwk_${created.id}`,
      scopes: ['traffic:deploy', 'read:*'],
    });
    const listed = await keysApi('GET');
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(created.key.slice(-43));
    const { keys } = JSON.parse(text) as { keys: Record<string, unknown>[] };
    const mine = keys.find((key) => key.id === created.id);
    expect(mine).toEqual({
      id: created.id,
      name: 'ci',
      prefix: `qwk_${created.id}`,
      scopes: ['traffic:deploy', 'read:*'],
      tenantId: null,
      status: 'active',
      createdAt: expect.any(String),
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
  });

  it('answers a malformed new key with a 400 naming the field', async () => {
    for (const [body, field] of [
      [{ scopes: [] }, 'name'],
      [{ name: 'x', scopes: ['no spaces please'] }, 'scopes'],
      [{ name: 'x', scopes: [], expiresIn: -5 }, 'expiresIn'],
      [{ name: 'x', scopes: [], secret: 'mine' }, 'secret'],
      [{ name: 'x', scopes: [], tenantId: 'Not-A-Tenant' }, 'tenantId'],
    ] as const) {
      const response = await keysApi('POST', body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        code: 'API_KEYS_INVALID_BODY',
        field,
      });
    }
  });

  it('lets a key through a proxied auth: required route, as api-key|<id>, and records its use', async () => {
    const created = await create({ name: 'deployer', scopes: ['read:*'] });
    const seen = service.seen.length;
    const response = await proxied('svc', created.key);
    expect(response.status).toBe(200);
    // The upstream gets the identity the gateway signed, never the key itself.
    const headers = service.seen[seen];
    expect(headers['x-qwickapps-identity']).toEqual(expect.any(String));
    expect(JSON.stringify(headers)).not.toContain(created.key);
    const payload = JSON.parse(
      Buffer.from(String(headers['x-qwickapps-identity']).split('.')[1], 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(JSON.stringify(payload)).toContain(`api-key|${created.id}`);
    await expect
      .poll(async () => {
        const { keys } = (await (await keysApi('GET')).json()) as {
          keys: Record<string, unknown>[];
        };
        return keys.find((key) => key.id === created.id)?.lastUsedAt;
      })
      .toEqual(expect.any(String));
  });

  it('refuses a revoked key at once, an expired key and a tampered key: 401', async () => {
    const revoked = await create({ name: 'old', scopes: [] });
    expect((await proxied('svc', revoked.key)).status).toBe(200);
    expect((await keysApi('DELETE', undefined, admin, `/${revoked.id}`)).status).toBe(204);
    const refused = await proxied('svc', revoked.key);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect((await keysApi('DELETE', undefined, admin, '/0000000000000000')).status).toBe(404);

    const expiring = await create({ name: 'brief', scopes: [], expiresIn: 1 });
    expect((await proxied('svc', expiring.key)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await proxied('svc', expiring.key)).status).toBe(401);

    const good = await create({ name: 'good', scopes: [] });
    const last = good.key.at(-1) === 'A' ? 'B' : 'A';
    expect((await proxied('svc', good.key.slice(0, -1) + last)).status).toBe(401);
    expect((await proxied('svc', `${good.key}x`)).status).toBe(401);
    expect((await proxied('svc', good.key)).status).toBe(200);
  });

  it("honours a route's permissions through the key's scopes", async () => {
    const deployer = await create({ name: 'deploy', scopes: ['traffic:deploy'] });
    const reader = await create({ name: 'read', scopes: ['read:*'] });
    expect((await proxied('deploy', deployer.key)).status).toBe(200);
    const refused = await proxied('deploy', reader.key);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'AUTH_FORBIDDEN' });
  });

  it('lets a key with admin:* through the admin gate, and no other key', async () => {
    const operator = await create({ name: 'ops', scopes: ['admin:*'] });
    const plain = await create({ name: 'plain', scopes: ['read:*'] });
    expect((await keysApi('GET', undefined, operator.key)).status).toBe(200);
    const refused = await keysApi('GET', undefined, plain.key);
    expect(refused.status).toBe(403);
    const revokedNow = await keysApi('DELETE', undefined, operator.key, `/${operator.id}`);
    expect(revokedNow.status).toBe(204);
    expect((await keysApi('GET', undefined, operator.key)).status).toBe(401);
  });

  it('never writes a key to the logs: its id and name only', async () => {
    const created = await create({ name: 'logged', scopes: [] });
    await proxied('svc', created.key);
    await proxied('svc', `${created.key.slice(0, -1)}_`);
    await keysApi('GET', undefined, created.key);
    const logs = JSON.stringify(started.logs);
    expect(logs).toContain(created.id);
    expect(logs).not.toContain(created.key.slice(-43));
    expect(logs).not.toContain(created.key.slice(-20));
    expect(
      started.logs.some((line) => line.msg === 'api key used' && line.key === created.id),
    ).toBe(true);
  });
});
