import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  HttpError,
  PluginLifecycleError,
  createApp,
  definePlugin,
  secret,
  type App,
} from '../index.js';
import { baseUrl, captureLogs, json } from '../../test/support/http.js';

const apps: App[] = [];
function track(app: App): App {
  apps.push(app);
  return app;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

const quiet = () => ({ destination: captureLogs().stream, level: 'silent' as const });

describe('createApp', () => {
  it('starts on a free port, runs hooks in dependency order and stops in reverse', async () => {
    const calls: string[] = [];
    const plugin = (name: string, dependencies: string[] = [], order?: number) =>
      definePlugin({
        name,
        dependencies,
        order,
        onInit: () => void calls.push(`init:${name}`),
        onReady: () => void calls.push(`ready:${name}`),
        onShutdown: () => void calls.push(`shutdown:${name}`),
      });
    const app = track(
      createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: quiet(),
        shutdown: { signals: false },
        plugins: [plugin('users', ['database']), plugin('early', [], 1), plugin('database')],
      }),
    );
    await app.start();
    expect(app.server.listening).toBe(true);
    await app.stop();
    expect(app.server.listening).toBe(false);
    expect(calls).toEqual([
      'init:early',
      'init:database',
      'init:users',
      'ready:early',
      'ready:database',
      'ready:users',
      'shutdown:users',
      'shutdown:database',
      'shutdown:early',
    ]);
  });

  it('names the plugin and the cause when onInit throws, and cleans up what started', async () => {
    const stopped: string[] = [];
    const app = track(
      createApp({
        name: 't',
        port: 0,
        logger: quiet(),
        shutdown: { signals: false },
        plugins: [
          { name: 'first', onShutdown: () => void stopped.push('first') },
          {
            name: 'broken',
            dependencies: ['first'],
            onInit: () => {
              throw new Error('disk full');
            },
          },
        ],
      }),
    );
    const failure = await app.start().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PluginLifecycleError);
    expect((failure as Error).message).toBe('Plugin "broken" failed in onInit: disk full');
    expect(stopped).toEqual(['first']);
    expect(app.server.listening).toBe(false);
    expect(app.context.plugins().find((p) => p.name === 'broken')?.state).toBe('failed');
  });

  it('reports every configuration problem at once, naming each option and env variable', () => {
    process.env.QA_TEST_TTL = 'soon';
    try {
      const attempt = () =>
        createApp({
          name: '',
          port: 70000,
          logger: quiet(),
          plugins: [
            {
              name: 'cache',
              config: {
                schema: z.object({
                  ttl: z.coerce.number().int(),
                  password: secret(z.string().min(8)),
                }),
                options: { password: 'short' },
                env: { ttl: 'QA_TEST_TTL' },
              },
            },
          ],
        });
      expect(attempt).toThrow(ConfigError);
      const error = (() => {
        try {
          attempt();
        } catch (e) {
          return e as ConfigError;
        }
      })()!;
      const names = error.issues.map((issue) => issue.name);
      expect(names).toEqual(
        expect.arrayContaining(['name', 'port', 'QA_TEST_TTL', 'plugins.cache.password']),
      );
      expect(error.message).toContain('QA_TEST_TTL');
      expect(error.message).toContain('"soon"');
      expect(error.message).not.toContain('short');
    } finally {
      delete process.env.QA_TEST_TTL;
    }
  });

  it('answers problem+json for 404, malformed JSON, oversized bodies, HttpError and unknown errors', async () => {
    const app = track(
      createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: quiet(),
        shutdown: { signals: false },
        bodyLimit: 1024,
        plugins: [
          {
            name: 'api',
            routes: [
              { method: 'post', path: '/echo', handler: (req, res) => void res.json(req.body) },
              {
                method: 'get',
                path: '/teapot',
                handler: () => {
                  throw new HttpError(418, 'API_TEAPOT', 'I am a teapot');
                },
              },
              {
                method: 'get',
                path: '/boom',
                handler: () => {
                  throw new Error('secret database password in stack');
                },
              },
            ],
          },
        ],
      }),
    );
    await app.start();
    const url = baseUrl(app);
    const post = (body: string) =>
      fetch(`${url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });

    const cases: [Promise<Response>, number, string][] = [
      [fetch(`${url}/nowhere`), 404, 'ROUTE_NOT_FOUND'],
      [post('{"broken":'), 400, 'REQUEST_MALFORMED_JSON'],
      [post(JSON.stringify({ big: 'x'.repeat(2048) })), 413, 'REQUEST_BODY_TOO_LARGE'],
      [fetch(`${url}/teapot`), 418, 'API_TEAPOT'],
      [fetch(`${url}/boom`), 500, 'INTERNAL_ERROR'],
    ];
    for (const [pending, status, code] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const body = await response.json();
      expect(body).toMatchObject({ status, code, type: 'about:blank' });
      expect(JSON.stringify(body)).not.toContain('stack');
      expect(JSON.stringify(body)).not.toContain('secret database password');
    }
    const ok = await post('{"a":1}');
    expect(await ok.json()).toEqual({ a: 1 });
  });

  it('keeps a well-formed x-request-id, replaces a malformed one, and echoes it', async () => {
    const logs = captureLogs();
    const app = track(
      createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: { destination: logs.stream, level: 'info' },
        shutdown: { signals: false },
        plugins: [
          {
            name: 'api',
            routes: [
              { method: 'get', path: '/id', handler: (req, res) => void res.json({ id: req.id }) },
            ],
          },
        ],
      }),
    );
    await app.start();
    const kept = await fetch(`${baseUrl(app)}/id`, { headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123');
    expect(await kept.json()).toEqual({ id: 'abc-123' });
    const replaced = await fetch(`${baseUrl(app)}/id`, {
      headers: { 'x-request-id': 'bad id <script>' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await app.stop();
    expect(
      logs.lines.some((line) => line.requestId === 'abc-123' && line.msg === 'request completed'),
    ).toBe(true);
  });

  it('shares nothing between two apps in one process', async () => {
    const make = () =>
      track(
        createApp({
          name: 't',
          port: 0,
          host: '127.0.0.1',
          logger: quiet(),
          shutdown: { signals: false },
          plugins: [{ name: 'svc', onInit: (ctx) => ctx.provide('thing' as never, {} as never) }],
        }),
      );
    const a = make();
    const b = make();
    await a.start();
    await b.start();
    expect(a.context.services.get('thing' as never)).not.toBe(
      b.context.services.get('thing' as never),
    );
    expect(a.context.health).not.toBe(b.context.health);
  });

  it('closes admin routes to proxied or remote callers until a guard is installed', async () => {
    const app = track(
      createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: quiet(),
        shutdown: { signals: false },
        plugins: [
          {
            name: 'ops',
            routes: [
              {
                method: 'get',
                path: '/api/ops',
                access: 'admin',
                handler: (_req, res) => void res.json({ ok: true }),
              },
            ],
          },
        ],
      }),
    );
    await app.start();
    expect((await fetch(`${baseUrl(app)}/api/ops`)).status).toBe(200);
    const proxied = await fetch(`${baseUrl(app)}/api/ops`, {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(proxied.status).toBe(401);
    expect((await json(proxied)).code).toBe('ADMIN_GUARD_REQUIRED');
    app.context.setAdminGuard({
      name: 'deny',
      middleware: (_req, res) => void res.status(403).json({ denied: true }),
    });
    expect((await fetch(`${baseUrl(app)}/api/ops`)).status).toBe(403);
    expect(app.context.routes()).toContainEqual(
      expect.objectContaining({ path: '/api/ops', access: 'admin', plugin: 'ops' }),
    );
  });

  it('does not start listening when stopped during start-up', async () => {
    let release!: () => void;
    const app = track(
      createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: quiet(),
        shutdown: { signals: false },
        plugins: [
          { name: 'slow', onInit: () => new Promise<void>((resolve) => (release = resolve)) },
        ],
      }),
    );
    const starting = app.start();
    const stopping = app.stop();
    release();
    await expect(starting).rejects.toThrow('stopped during start-up');
    await stopping;
    expect(app.server.listening).toBe(false);
    expect(app.context.phase()).toBe('stopped');
  });

  it('mounts fallback routes after every other route, whatever the plugin order', async () => {
    const app = track(
      createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: quiet(),
        shutdown: { signals: false },
        plugins: [
          {
            name: 'frontend',
            order: 1,
            routes: [
              {
                method: 'get',
                path: '/{*path}',
                fallback: true,
                handler: (_req, res) => void res.send('spa'),
              },
            ],
          },
          {
            name: 'api',
            order: 50,
            routes: [
              { method: 'get', path: '/api/thing', handler: (_req, res) => void res.send('thing') },
            ],
          },
        ],
      }),
    );
    await app.start();
    expect(await (await fetch(`${baseUrl(app)}/api/thing`)).text()).toBe('thing');
    expect(await (await fetch(`${baseUrl(app)}/anything/else`)).text()).toBe('spa');
  });

  it('answers fixed-path routes by lookup with Express semantics: order, next(), errors, letter case', async () => {
    let firstRuns = 0;
    const app = track(
      createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: quiet(),
        shutdown: { signals: false },
        plugins: [
          {
            name: 'one',
            order: 1,
            routes: [
              // Fixed paths before any dynamic GET route: answered by the lookup.
              {
                method: 'get',
                path: '/chain',
                handler: (_req, _res, next) => {
                  firstRuns++;
                  next();
                },
              },
              {
                method: 'get',
                path: '/async-fail',
                handler: async () => {
                  throw new HttpError(409, 'T_CONFLICT', 'async conflict');
                },
              },
              {
                method: 'post',
                path: '/plain',
                handler: (req, res) => void res.json({ got: req.body }),
              },
              {
                method: 'get',
                path: '/items/:id',
                handler: (req, res) => void res.send(`dynamic ${req.params.id}`),
              },
            ],
          },
          {
            name: 'two',
            order: 2,
            routes: [
              {
                method: 'get',
                path: '/items/special',
                handler: (_req, res) => void res.send('static'),
              },
              { method: 'get', path: '/chain', handler: (_req, res) => void res.send('second') },
            ],
          },
        ],
      }),
    );
    await app.start();
    const url = baseUrl(app);
    // A dynamic route registered first still wins, as it would in Express.
    expect(await (await fetch(`${url}/items/special`)).text()).toBe('dynamic special');
    // next() from a route hands over to the next route for the path, without running it twice.
    expect(await (await fetch(`${url}/chain`)).text()).toBe('second');
    expect(firstRuns).toBe(1);
    const failed = await fetch(`${url}/async-fail`);
    expect(failed.status).toBe(409);
    expect((await json(failed)).code).toBe('T_CONFLICT');
    expect(
      await json(
        fetch(`${url}/plain`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"a":1}',
        }),
      ),
    ).toEqual({ got: { a: 1 } });
    expect(await (await fetch(`${url}/CHAIN/`)).text()).toBe('second');
    expect(firstRuns).toBe(2);
    expect((await fetch(`${url}/chain`, { method: 'HEAD' })).status).toBe(200);
  });
});
