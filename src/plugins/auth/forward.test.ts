import { createHmac } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../../core/plugin.js';
import { createRoutingPlugin } from '../routing/index.js';
import { gatewayAdapter } from './adapters/gateway.js';
import { requireUser } from './express.js';
import { FORWARDED_USER_CLAIM } from './identity.js';
import { createAuthPlugin } from './index.js';
import {
  FORWARD_SECRET,
  startApp,
  testIssuer,
  type StartedApp,
  type TestIssuer,
} from './test-support/gateway-kit.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await testIssuer();
});

const IDENTITY = 'x-qwickapps-identity';

/** A service built with the framework: it trusts the gateway's forwarded identity only. */
async function service(secret = FORWARD_SECRET): Promise<StartedApp> {
  const routes = definePlugin({
    name: 'orders',
    routes: [
      {
        method: 'get',
        path: '/api/me',
        handler: [requireUser(), (req, res) => void res.json(req.user)],
      },
      {
        method: 'get',
        path: '/api/public',
        handler: (req, res) => void res.json({ user: req.user?.id ?? null }),
      },
    ],
  });
  const started = await startApp(
    [createAuthPlugin({ providers: [gatewayAdapter({ secret })], forward: false }), routes],
    'service',
  );
  cleanups.push(() => started.app.stop());
  return started;
}

async function gatewayTo(target: string): Promise<StartedApp> {
  const started = await startApp([
    createRoutingPlugin({
      routes: [{ id: 'api', match: '/api/*', target, auth: 'optional', health: false }],
    }),
    createAuthPlugin({ providers: [issuer.provider], forward: { secret: FORWARD_SECRET } }),
  ]);
  cleanups.push(() => started.app.stop());
  return started;
}

/** A token signed as the gateway signs one, with what the test chooses. */
function forged(payload: Record<string, unknown>, secret = FORWARD_SECRET, alg = 'HS256'): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const head = `${encode({ alg, typ: 'JWT' })}.${encode(payload)}`;
  const signature =
    alg === 'none' ? '' : createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${signature}`;
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'qwickapps-gateway',
    aud: 'qwickapps-service',
    sub: 'mallory',
    iat: now,
    exp: now + 60,
    [FORWARDED_USER_CLAIM]: {
      id: 'jwt|mallory',
      provider: 'jwt',
      issuer: 'https://id.test.example',
      roles: ['admin'],
      permissions: [],
      claims: {},
    },
    ...overrides,
  };
}

describe('the forwarded identity, at a service', () => {
  it('gives the service the user the gateway verified, as req.user', async () => {
    const api = await service();
    const gateway = await gatewayTo(api.url);
    const token = await issuer.token({
      sub: 'alice',
      roles: ['editor'],
      email: 'alice@example.com',
    });
    const response = await fetch(`${gateway.url}/api/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: 'jwt|alice',
      provider: 'jwt',
      issuer: 'https://id.test.example',
      subject: 'alice',
      email: 'alice@example.com',
      roles: ['editor'],
      permissions: [],
    });
    // Anonymous through the gateway: no identity, and requireUser says so.
    const anonymous = await fetch(`${gateway.url}/api/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'AUTH_TOKEN_MISSING' });
    const open = await fetch(`${gateway.url}/api/public`);
    expect(await open.json()).toEqual({ user: null });
  });

  it('never lets a client-sent identity header through the gateway', async () => {
    const api = await service();
    const gateway = await gatewayTo(api.url);
    const response = await fetch(`${gateway.url}/api/me`, {
      headers: { [IDENTITY]: forged(claims()) },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'AUTH_TOKEN_MISSING' });
  });

  it('accepts a well-signed header and refuses unsigned, wrong-secret, expired and foreign ones', async () => {
    const api = await service();
    const get = (value: string) => fetch(`${api.url}/api/me`, { headers: { [IDENTITY]: value } });
    // The control: what the gateway would sign passes, so each refusal below is the change it names.
    const good = await get(forged(claims()));
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ id: 'jwt|mallory' });
    const past = Math.floor(Date.now() / 1000) - 600;
    const cases: [string, string, string][] = [
      ['unsigned', forged(claims(), FORWARD_SECRET, 'none'), 'AUTH_TOKEN_INVALID'],
      [
        'wrong secret',
        forged(claims(), 'another-secret-of-at-least-32-characters'),
        'AUTH_TOKEN_INVALID',
      ],
      ['expired', forged(claims({ iat: past, exp: past + 60 })), 'AUTH_TOKEN_EXPIRED'],
      ['another issuer', forged(claims({ iss: 'someone-else' })), 'AUTH_TOKEN_INVALID'],
      ['another audience', forged(claims({ aud: 'another-service' })), 'AUTH_TOKEN_INVALID'],
      [
        'no user claim',
        forged(claims({ [FORWARDED_USER_CLAIM]: undefined })),
        'AUTH_TOKEN_INVALID',
      ],
      ['not a token', 'hello', 'AUTH_TOKEN_INVALID'],
    ];
    for (const [label, value, code] of cases) {
      const response = await get(value);
      expect(response.status, label).toBe(401);
      expect(response.headers.get('www-authenticate'), label).toBe('Bearer error="invalid_token"');
      expect(await response.json(), label).toMatchObject({ code });
    }
  });

  it('reads the forwarded header only: the same token as a bearer token is no login', async () => {
    const api = await service();
    const response = await fetch(`${api.url}/api/me`, {
      headers: { authorization: `Bearer ${forged(claims())}` },
    });
    expect(response.status).toBe(401);
  });

  it('fails start-up on a forward secret shorter than 32 bytes, naming the option', async () => {
    await expect(service('short')).rejects.toThrow(/providers\.0\.secret/);
  });
});
