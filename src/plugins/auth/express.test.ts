import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../../core/plugin.js';
import { requireUser } from './express.js';
import { createAuthPlugin } from './index.js';
import {
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

async function app(): Promise<StartedApp> {
  const routes = definePlugin({
    name: 'profile',
    routes: [
      {
        method: 'get',
        path: '/api/profile',
        handler: [
          requireUser(),
          (req, res) => void res.json({ id: req.user!.id, roles: req.user!.roles }),
        ],
      },
      {
        method: 'get',
        path: '/api/identify',
        handler: async (req, res) => {
          const user = await req.context.services.get('auth').identify(req);
          res.json({ id: user?.id ?? null });
        },
      },
    ],
  });
  const started = await startApp([createAuthPlugin({ providers: [issuer.provider] }), routes]);
  cleanups.push(() => started.app.stop());
  return started;
}

describe('the Express lane', () => {
  it('sets req.user from a bearer token before any route runs', async () => {
    const { url } = await app();
    const token = await issuer.token({ sub: 'erin', roles: ['ops'] });
    const response = await fetch(`${url}/api/profile`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: 'jwt|erin', roles: ['ops'] });
    const identified = await fetch(`${url}/api/identify`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await identified.json()).toEqual({ id: 'jwt|erin' });
  });

  it('answers requireUser routes 401 problem+json: a challenge without a token, invalid_token with a bad one', async () => {
    const { url } = await app();
    const missing = await fetch(`${url}/api/profile`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toMatchObject({ code: 'AUTH_TOKEN_MISSING' });
    const expired = await issuer.token(
      { sub: 'erin' },
      { expiresIn: Math.floor(Date.now() / 1000) - 60 },
    );
    const refused = await fetch(`${url}/api/profile`, {
      headers: { authorization: `Bearer ${expired}` },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await refused.json()).toMatchObject({ code: 'AUTH_TOKEN_EXPIRED' });
    // A route without requireUser still answers, anonymously.
    const open = await fetch(`${url}/api/identify`, {
      headers: { authorization: `Bearer ${expired}` },
    });
    expect(await open.json()).toEqual({ id: null });
  });
});
