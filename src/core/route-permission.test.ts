import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createApp, type App } from '../index.js';
import { createAuthPlugin } from '../plugins/auth/index.js';
import {
  startApp,
  testIssuer,
  type StartedApp,
  type TestIssuer,
} from '../plugins/auth/test-support/gateway-kit.js';
import type { RouteDefinition, ServerPlugin } from './plugin.js';

/** Admin routes: one with a permission, one qualified by its body, one for admins only. */
const things: ServerPlugin = {
  name: 'things',
  routes: [
    {
      method: 'get',
      path: '/api/things',
      access: 'admin',
      permission: 'things:read',
      handler: (_req, res) => void res.json({ things: [] }),
    },
    {
      method: 'post',
      path: '/api/things/run',
      access: 'admin',
      permission: {
        permission: 'things:run',
        qualifier: (req) => (req.body as { name?: string } | undefined)?.name,
      },
      handler: (req, res) => void res.json({ ran: (req.body as { name?: string }).name ?? null }),
    },
    {
      method: 'post',
      path: '/api/things/wipe',
      access: 'admin',
      handler: (_req, res) => void res.json({ wiped: true }),
    },
  ],
};

let issuer: TestIssuer;
let started: StartedApp;

beforeAll(async () => {
  issuer = await testIssuer();
  started = await startApp([
    createAuthPlugin({ providers: [issuer.provider], controlPanel: { adminRoles: ['admin'] } }),
    things,
  ]);
});
afterAll(async () => {
  await started?.app.stop();
});

async function call(
  claims: { roles?: string[]; permissions?: string[] },
  method: 'GET' | 'POST',
  path: string,
  body?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = await issuer.token({ sub: 'machine', ...claims });
  const response = await fetch(`${started.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const run = (permissions: string[], body: unknown) =>
  call({ permissions }, 'POST', '/api/things/run', JSON.stringify(body));

describe('a permission on an admin route', () => {
  it('lets its holders in besides admins, and keeps routes without one for admins', async () => {
    expect((await call({ permissions: ['things:read'] }, 'GET', '/api/things')).status).toBe(200);
    expect((await call({ permissions: ['things:*'] }, 'GET', '/api/things')).status).toBe(200);
    expect((await call({ roles: ['admin'] }, 'GET', '/api/things')).status).toBe(200);
    expect(await call({ permissions: ['stuff:read'] }, 'GET', '/api/things')).toMatchObject({
      status: 403,
      body: { code: 'AUTH_PERMISSION_MISSING', missing: 'things:read' },
    });
    expect(await call({ permissions: ['*'] }, 'POST', '/api/things/wipe', '{}')).toMatchObject({
      status: 403,
      body: { code: 'AUTH_FORBIDDEN' },
    });
    expect((await call({ roles: ['admin'] }, 'POST', '/api/things/wipe', '{}')).status).toBe(200);
  });

  it('checks the part the body names once it is read', async () => {
    expect(await run(['things:run:a'], { name: 'a' })).toMatchObject({
      status: 200,
      body: { ran: 'a' },
    });
    expect(await run(['things:run:a'], { name: 'b' })).toMatchObject({
      status: 403,
      body: { code: 'AUTH_PERMISSION_MISSING', missing: 'things:run:b' },
    });
    // Naming nothing (or more than one segment) needs the whole permission.
    expect(await run(['things:run:a'], {})).toMatchObject({
      status: 403,
      body: { missing: 'things:run' },
    });
    expect(await run(['things:run:a'], { name: 'a:b' })).toMatchObject({
      status: 403,
      body: { missing: 'things:run' },
    });
    expect((await run(['things:run'], { name: 'b' })).status).toBe(200);
    expect((await run(['things:run:*'], { name: 'b' })).status).toBe(200);
    expect((await run(['*'], {})).status).toBe(200);
    expect((await call({ roles: ['admin'] }, 'POST', '/api/things/run', '{}')).status).toBe(200);
  });

  it('refuses a caller with nothing of the permission before reading its body', async () => {
    // Past the body limit (1 MB by default): read, it would be a 413.
    const upload = JSON.stringify({ name: 'a', padding: 'x'.repeat(1_200_000) });
    expect(await run(['stuff:run'], JSON.parse(upload))).toMatchObject({
      status: 403,
      body: { code: 'AUTH_PERMISSION_MISSING', missing: 'things:run' },
    });
    expect((await run(['things:run:a'], JSON.parse(upload))).status).toBe(413);
  });
});

describe('a permission without a guard that knows permissions', () => {
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });
  const appWith = (route: RouteDefinition, token?: string) => {
    const app = createApp({
      name: 'route-permission',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent', stdout: false },
      shutdown: { signals: false, readinessDelay: 0 },
      ...(token === undefined ? {} : { management: { token } }),
      plugins: [{ name: 'things', routes: [route] }],
    });
    apps.push(app);
    return app;
  };

  it('lets the management token through both steps: it is the operator', async () => {
    const token = 'a-management-token-of-at-least-32-characters';
    const app = appWith((things.routes as RouteDefinition[])[1], token);
    await app.start();
    const { port } = app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/api/things/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a' }),
    });
    expect(response.status).toBe(200);
    expect(app.context.routes().find((route) => route.path === '/api/things/run')).toMatchObject({
      permission: 'things:run',
    });
  });

  it('refuses at start-up a permission on a public route, or one that is no permission', async () => {
    const handler: RouteDefinition['handler'] = (_req, res) => void res.end();
    const open = appWith({ method: 'get', path: '/open', permission: 'open:read', handler });
    await expect(open.start()).rejects.toThrow(ConfigError);
    const bad = appWith({
      method: 'get',
      path: '/bad',
      access: 'admin',
      permission: 'nothing',
      handler,
    });
    const failure = await bad.start().catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toContain('plugins.things route GET /bad permission');
  });
});
