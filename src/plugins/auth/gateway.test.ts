import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createGateway, type GatewayOptions } from '../../gateway/index.js';
import { DATA_CSP } from '../security/index.js';
import { createRoutingPlugin, type RoutingOptions } from '../routing/index.js';
import { gatewayAdapter } from './adapters/gateway.js';
import { authenticateHook } from './edge-hook.js';
import { createAuthPlugin } from './index.js';
import type { EdgeExchange } from '../../core/edge.js';
import {
  FORWARD_SECRET,
  echoUpstream,
  startApp,
  testIssuer,
  type EchoUpstream,
  type TestIssuer,
} from './test-support/gateway-kit.js';
import { createTokenVerifier } from './verifier.js';
import { ConfigError } from '../../core/errors.js';
import { pino } from 'pino';
import { nodeRequest } from '../../../test/support/upstream.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await testIssuer();
});

const IDENTITY = 'x-qwickapps-identity';
const tokens = {
  maxBytes: 8_192,
  clockTolerance: 0,
  cacheSize: 100,
  jwksCooldown: 30_000,
  jwksTimeout: 5_000,
};
/** What a service behind the gateway verifies the forwarded header with. */
const serviceVerifier = () =>
  createTokenVerifier([gatewayAdapter({ secret: FORWARD_SECRET })], tokens);

async function gateway(upstream: EchoUpstream, extra: Partial<RoutingOptions> = {}) {
  const routing: RoutingOptions = {
    routes: [
      {
        id: 'private',
        match: '/api/*',
        target: upstream.url,
        auth: 'required',
        ws: true,
        health: false,
      },
      { id: 'open', match: '/open/*', target: upstream.url, auth: 'optional', health: false },
      {
        id: 'orders',
        match: '/orders/*',
        target: upstream.url,
        permissions: ['write:orders'],
        health: false,
      },
      { id: 'plain', match: '/plain/*', target: upstream.url, health: false },
    ],
    ...extra,
  };
  const started = await startApp([
    createRoutingPlugin(routing),
    createAuthPlugin({ providers: [issuer.provider], forward: { secret: FORWARD_SECRET } }),
  ]);
  cleanups.push(() => started.app.stop());
  return started;
}

/** The gateway preset (defaults, no panel) with one `auth: 'required'` route, not started. */
function preset(service: EchoUpstream, plugins: GatewayOptions['plugins'] = []) {
  const app = createGateway({
    name: 'auth-preset',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent', stdout: false },
    shutdown: { signals: false },
    controlPanel: false,
    routing: {
      routes: [
        { id: 'private', match: '/api/*', target: service.url, auth: 'required', health: false },
      ],
    },
    plugins,
  });
  cleanups.push(() => app.stop());
  return app;
}

async function upstream(): Promise<EchoUpstream> {
  const started = await echoUpstream();
  cleanups.push(() => started.close());
  return started;
}

describe('authentication at the gateway', () => {
  it('refuses a required route without a token: 401 problem+json, a Bearer challenge, nothing upstream', async () => {
    const service = await upstream();
    const { url } = await gateway(service);
    const response = await fetch(`${url}/api/orders`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toMatchObject({ status: 401, code: 'AUTH_TOKEN_MISSING' });
    expect(service.seen).toHaveLength(0);
  });

  it('answers its refusals with the security headers of the preset (the data set)', async () => {
    const service = await upstream();
    const app = preset(service, [
      createAuthPlugin({ providers: [issuer.provider], forward: { secret: FORWARD_SECRET } }),
    ]);
    await app.start();
    const { port } = app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/api/orders`);
    expect(response.status).toBe(401);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBe(DATA_CSP);
    // Refused after the rate limit counted it: a flood of missing or bad tokens is limited too.
    expect(response.headers.get('ratelimit')).toMatch(/remaining=/);
    expect(service.seen).toHaveLength(0);
  });

  it('sends a browser navigation to the login route with returnTo, 303', async () => {
    const service = await upstream();
    const { url } = await gateway(service);
    // node:http, since fetch sets Sec-Fetch-Mode itself.
    const response = await nodeRequest(`${url}/api/orders?page=2`, {
      headers: {
        accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
        'sec-fetch-mode': 'navigate',
      },
    });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(
      `/auth/login?returnTo=${encodeURIComponent('/api/orders?page=2')}`,
    );
    // A script's fetch (Sec-Fetch-Mode: cors) asking for HTML still gets the 401 it can handle.
    const script = await nodeRequest(`${url}/api/orders`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'cors' },
    });
    expect(script.status).toBe(401);
    expect(service.seen).toHaveLength(0);
  });

  it('passes a valid token and forwards a signed identity the service verifies, never the credentials', async () => {
    const service = await upstream();
    const { url, app } = await gateway(service);
    const [sessionCookie] = app.context.services.get('auth').sessions.cookieNames;
    const token = await issuer.token({
      sub: 'alice',
      roles: ['editor'],
      email: 'alice@example.com',
    });
    const response = await fetch(`${url}/api/orders`, {
      headers: {
        authorization: `Bearer ${token}`,
        cookie: `${sessionCookie}=stolen; theme=dark`,
        [IDENTITY]: 'forged-by-the-client',
      },
    });
    expect(response.status).toBe(200);
    const seen = service.seen[0];
    expect(seen[IDENTITY]).not.toBe('forged-by-the-client');
    const user = await serviceVerifier().verify(seen[IDENTITY] as string);
    expect(user).toMatchObject({
      id: 'jwt|alice',
      provider: 'jwt',
      issuer: 'https://id.test.example',
      subject: 'alice',
      email: 'alice@example.com',
      roles: ['editor'],
    });
    expect(seen.authorization).toBeUndefined();
    expect(seen.cookie).toBe('theme=dark');
  });

  it('signs one forwarded token per identity and reuses it, not one per request', async () => {
    const service = await upstream();
    const { url } = await gateway(service);
    const headers = { authorization: `Bearer ${await issuer.token({ sub: 'bob' })}` };
    await fetch(`${url}/api/a`, { headers });
    await fetch(`${url}/api/b`, { headers });
    expect(service.seen).toHaveLength(2);
    expect(service.seen[1][IDENTITY]).toBe(service.seen[0][IDENTITY]);
  });

  it('lets anonymous callers through an optional route without any identity header', async () => {
    const service = await upstream();
    const { url } = await gateway(service);
    const response = await fetch(`${url}/open/page`, { headers: { [IDENTITY]: 'forged' } });
    expect(response.status).toBe(200);
    expect(service.seen[0][IDENTITY]).toBeUndefined();
    // A route that asks nothing still drops a client's identity header.
    await fetch(`${url}/plain/page`, { headers: { [IDENTITY]: 'forged' } });
    expect(service.seen[1][IDENTITY]).toBeUndefined();
  });

  it('refuses an invalid token even on an optional route, with error="invalid_token"', async () => {
    const service = await upstream();
    const { url } = await gateway(service);
    const expired = await issuer.token(
      { sub: 'carol' },
      { expiresIn: Math.floor(Date.now() / 1000) - 60 },
    );
    for (const [token, code] of [
      ['not-a-jwt', 'AUTH_TOKEN_INVALID'],
      [expired, 'AUTH_TOKEN_EXPIRED'],
    ]) {
      const response = await fetch(`${url}/open/page`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(await response.json()).toMatchObject({ code });
    }
    expect(service.seen).toHaveLength(0);
  });

  it('answers 401 for a session cookie that names no session on a required route', async () => {
    const service = await upstream();
    const { url, app } = await gateway(service);
    const [sessionCookie] = app.context.services.get('auth').sessions.cookieNames;
    const response = await fetch(`${url}/api/x`, {
      headers: { cookie: `${sessionCookie}=${'a'.repeat(43)}` },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'AUTH_SESSION_EXPIRED' });
  });

  it('checks a route’s permissions after authentication: 403 without, 200 with', async () => {
    const service = await upstream();
    const { url } = await gateway(service);
    expect((await fetch(`${url}/orders/1`)).status).toBe(401);
    const reader = await issuer.token({ sub: 'r', permissions: ['read:orders'] });
    const refused = await fetch(`${url}/orders/1`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'AUTH_FORBIDDEN' });
    const writer = await issuer.token({ sub: 'w', permissions: ['write:orders'] });
    const passed = await fetch(`${url}/orders/1`, {
      headers: { authorization: `Bearer ${writer}` },
    });
    expect(passed.status).toBe(200);
    expect(service.seen).toHaveLength(1);
  });

  it('refuses a WebSocket upgrade on a required route without a token, and forwards one with it', async () => {
    const service = await upstream();
    const { url } = await gateway(service);
    const ws = url.replace('http', 'ws');
    const refused = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${ws}/api/live`);
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      socket.once('open', () => reject(new Error('opened without a token')));
      socket.once('error', () => undefined);
    });
    expect(refused).toBe(401);
    expect(service.seen).toHaveLength(0);
    const token = await issuer.token({ sub: 'dave' });
    const socket = new WebSocket(`${ws}/api/live`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const reply = new Promise<string>((resolve) =>
      socket.once('message', (data) => resolve(String(data))),
    );
    socket.send('hi');
    expect(await reply).toBe('echo: hi');
    socket.close();
    const user = await serviceVerifier().verify(service.seen[0][IDENTITY] as string);
    expect(user.id).toBe('jwt|dave');
  });

  it('fails start-up when a route asks for auth and no plugin authenticates', async () => {
    const service = await upstream();
    const app = preset(service);
    const failure = await app.start().then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: unknown },
    );
    expect(failure).toBeDefined();
    expect(failure!.cause).toBeInstanceOf(ConfigError);
    expect((failure!.cause as ConfigError).issues[0].name).toBe('plugins.routing.routes.0.auth');
  });

  it('settles a request without credentials synchronously, without a promise', () => {
    const hook = authenticateHook({
      headers: [],
      loginPath: '/auth/login',
      logger: pino({ level: 'silent' }),
    });
    const exchange = {
      req: { headers: {}, method: 'GET', url: '/open/x' },
      lane: 'proxy',
      upgrade: false,
      path: '/open/x',
      route: { id: 'open', plane: 'data', auth: 'optional' },
      upstreamHeaders: [],
    } as unknown as EdgeExchange;
    expect(hook.run(exchange)).toBe(false);
    expect(exchange.identity).toBeUndefined();
  });
});
