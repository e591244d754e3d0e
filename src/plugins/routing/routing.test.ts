import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, createApp, definePlugin } from '../../index.js';
import { waitFor } from '../../../test/support/http.js';
import { createConfigPlugin } from '../config/index.js';
import { createRateLimitPlugin } from '../rate-limit/index.js';
import { DATA_CSP, createSecurityPlugin } from '../security/index.js';
import { createStaticPlugin } from '../static/index.js';
import { createRoutingPlugin } from './index.js';
import { nodeRequest, rawRequest, useTestServers } from '../../../test/support/upstream.js';
const { cleanups, upstream, gateway } = useTestServers();

describe('proxy routes', () => {
  it("never forwards the admin guard's own session cookie upstream", async () => {
    const seen: (string | undefined)[] = [];
    const service = await upstream((req, res) => {
      seen.push(req.headers.cookie);
      res.end('ok');
    });
    const guard = definePlugin({
      name: 'guard',
      onInit: (ctx) =>
        ctx.app.setAdminGuard({
          name: 'test',
          middleware: (_req, _res, next) => next(),
          privateCookies: ['cpanel_session'],
        }),
    });
    const { url } = await gateway(
      { routes: [{ match: '/api/*', target: service.url, health: false }] },
      [guard],
    );
    await (
      await fetch(`${url}/api/a`, {
        headers: { cookie: 'theme=dark; cpanel_session=abc.def; lang=en' },
      })
    ).text();
    await (await fetch(`${url}/api/b`, { headers: { cookie: 'cpanel_session=abc.def' } })).text();
    await (await fetch(`${url}/api/c`, { headers: { cookie: 'theme=dark' } })).text();
    expect(seen).toEqual(['theme=dark; lang=en', undefined, 'theme=dark']);
  });

  it('forwards method, path, query and body, and relays status, headers and body', async () => {
    const service = await upstream((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        res.writeHead(201, {
          'content-type': 'application/json',
          'x-service': 'api',
          'set-cookie': ['a=1', 'b=2'],
        });
        res.end(JSON.stringify({ method: req.method, url: req.url, body }));
      });
    });
    const { url } = await gateway({
      routes: [{ match: '/api/v1/*', target: service.url, health: false }],
    });
    const response = await fetch(`${url}/api/v1/items?limit=2`, { method: 'POST', body: 'hello' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-service')).toBe('api');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.json()).toEqual({
      method: 'POST',
      url: '/api/v1/items?limit=2',
      body: 'hello',
    });
  });

  it('strips the prefix, prepends the target path and normalises what it forwards', async () => {
    const service = await upstream((req, res) => void res.end(req.url));
    const { url } = await gateway({
      routes: [
        { match: '/public/*', target: `${service.url}/base`, stripPrefix: true, health: false },
      ],
    });
    expect(await (await fetch(`${url}/public/a/b?x=1`)).text()).toBe('/base/a/b?x=1');
    expect(await (await fetch(`${url}/public`)).text()).toBe('/base/');
    // fetch would normalise the path itself; a raw target shows what the gateway does.
    const raw = await rawRequest(
      Number(new URL(url).port),
      'GET /public/a/./b/../%63//d HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    );
    expect(raw).toMatch(/\r\n\r\n\/base\/a\/c\/d$/);
  });

  it('removes hop-by-hop headers, builds X-Forwarded-* from the connection and passes the request id on', async () => {
    const service = await upstream((_req, res) => {
      res.writeHead(200, {
        connection: 'x-internal',
        'x-internal': 'leak',
        'keep-alive': 'timeout=99',
        'x-request-id': 'upstream-id',
      });
      res.end('ok');
    });
    const { url, logs } = await gateway({
      routes: [{ match: '/*', target: service.url, health: false }],
    });
    const response = await nodeRequest(`${url}/thing`, {
      headers: {
        connection: 'keep-alive, x-hop',
        'x-hop': 'drop me',
        'proxy-authorization': 'Basic abc',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=6.6.6.6',
        'x-request-id': 'client-req-1',
        'x-kept': 'yes',
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers['x-request-id']).toBe('client-req-1');
    expect(response.headers['x-internal']).toBeUndefined();
    expect(response.headers['keep-alive']).not.toBe('timeout=99'); // Node sets its own
    const seen = service.seen[0].headers;
    expect(seen['x-hop']).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen.forwarded).toBeUndefined();
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe(new URL(url).host);
    expect(seen['x-request-id']).toBe('client-req-1');
    expect(seen['x-kept']).toBe('yes');
    const line = logs.find(
      (entry) => entry.msg === 'request completed' && entry.requestId === 'client-req-1',
    );
    expect(line).toMatchObject({
      req: { method: 'GET', url: '/thing', remoteAddress: '127.0.0.1' },
      res: { statusCode: 200 },
      route: '/*',
    });
    expect(typeof line?.responseTime).toBe('number');
  });

  it('logs request headers at debug level, with credentials redacted', async () => {
    const service = await upstream();
    const { url, logs } = await gateway(
      { routes: [{ match: '/*', target: service.url, health: false }] },
      [],
      'debug',
    );
    await fetch(url, {
      headers: { authorization: 'Bearer secret-token', 'x-request-id': 'debug-1' },
    });
    await waitFor(() => logs.some((line) => line.requestId === 'debug-1'), 'log line');
    const line = logs.find((entry) => entry.requestId === 'debug-1') as {
      req: { headers: Record<string, string> };
    };
    expect(line.req.headers.authorization).toBe('[REDACTED]');
    expect(service.seen[0].headers.authorization).toBe('Bearer secret-token');
  });

  it('keeps and appends to forwarding headers only when the previous hop is trusted', async () => {
    const service = await upstream();
    const { url } = await gateway(
      { routes: [{ match: '/*', target: service.url, health: false }] },
      [],
      'info',
      { trustProxy: ['loopback'] },
    );
    await fetch(url, {
      headers: {
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'shop.example',
      },
    });
    const seen = service.seen[0].headers;
    expect(seen['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(seen['x-forwarded-host']).toBe('shop.example');
  });

  it('adds and removes headers per route, both ways', async () => {
    const service = await upstream((_req, res) => {
      res.setHeader('server', 'internal/1.2');
      res.end('ok');
    });
    const { url } = await gateway({
      routes: [
        {
          match: '/*',
          target: service.url,
          health: false,
          headers: {
            request: { add: { 'x-gateway': 'green' }, remove: ['cookie'] },
            response: { add: { 'x-frame-options': 'DENY' }, remove: ['server'] },
          },
        },
      ],
    });
    const response = await fetch(url, { headers: { cookie: 'session=1' } });
    expect(response.headers.get('server')).toBeNull();
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(service.seen[0].headers['x-gateway']).toBe('green');
    expect(service.seen[0].headers.cookie).toBeUndefined();
  });

  it("never shadows the app's own routes, and lists routes for admins", async () => {
    const service = await upstream();
    const own = definePlugin({
      name: 'own',
      routes: [
        {
          method: 'get',
          path: '/api/own/:id',
          handler: (req, res) => void res.json({ own: req.params.id }),
        },
      ],
    });
    const { url } = await gateway(
      {
        routes: [
          { id: 'api', match: '/api/*', target: service.url, health: false },
          { match: '/old', redirect: '/new' },
        ],
      },
      [own],
    );
    expect(await (await fetch(`${url}/api/own/7`)).json()).toEqual({ own: '7' });
    const listing = (await (await fetch(`${url}/api/routing/routes`)).json()) as {
      routes: unknown[];
    };
    expect(listing.routes).toEqual([
      { id: '/old', match: '/old', kind: 'redirect', target: '/new', status: 302 },
      {
        id: 'api',
        match: '/api/*',
        kind: 'proxy',
        target: service.url,
        ws: false,
        health: { status: 'unknown' },
      },
    ]);
    expect(service.seen).toHaveLength(0);
  });
});

describe('rewrites and redirects', () => {
  it('rewrites internally, so Express (or a proxy route) answers the new path', async () => {
    const service = await upstream((req, res) => void res.end(`upstream ${req.url}`));
    const hello = definePlugin({
      name: 'hello',
      routes: [
        {
          method: 'get',
          path: '/new-path',
          handler: (req, res) => void res.send(`express ${req.url}`),
        },
      ],
    });
    const { url } = await gateway(
      {
        routes: [
          { match: '/old-path', rewrite: '/new-path' },
          { match: '/legacy/*', rewrite: '/v2/*' },
          { match: '/v2/*', target: service.url, health: false },
        ],
      },
      [hello],
    );
    expect(await (await fetch(`${url}/old-path?q=1`)).text()).toBe('express /new-path?q=1');
    expect(await (await fetch(`${url}/legacy/a/b`)).text()).toBe('upstream /v2/a/b');
  });

  it('redirects with the configured status, keeping the rest of the path and the query', async () => {
    const { url } = await gateway({
      routes: [
        { match: '/docs/*', redirect: '/manual/*', status: 308 },
        { match: '/home', redirect: '/', status: 301 },
      ],
    });
    const moved = await fetch(`${url}/docs/intro?lang=en`, { redirect: 'manual' });
    expect(moved.status).toBe(308);
    expect(moved.headers.get('location')).toBe('/manual/intro?lang=en');
    const home = await fetch(`${url}/home`, { redirect: 'manual' });
    expect(home.status).toBe(301);
    expect(home.headers.get('location')).toBe('/');
  });

  it('refuses open redirects and * with credentials at start-up, naming each option', () => {
    const attempt = () =>
      createApp({
        name: 'bad',
        logger: { level: 'silent' },
        plugins: [
          createRoutingPlugin({
            routes: [
              { match: '/a', redirect: '//evil.example/x' },
              { match: '/b', redirect: 'https://evil.example/' },
              { match: '/c', redirect: 'https://docs.example/' },
            ],
            allowedRedirectOrigins: ['https://docs.example'],
            cors: { origin: '*', credentials: true },
          }),
        ],
      });
    expect(attempt).toThrow(ConfigError);
    const names = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as ConfigError).issues.map((issue) => issue.name);
      }
    })();
    expect(names).toEqual(
      expect.arrayContaining([
        'plugins.routing.routes.0.redirect',
        'plugins.routing.routes.1.redirect',
        'plugins.routing.cors.credentials',
      ]),
    );
    expect(names).not.toContain('plugins.routing.routes.2.redirect');
  });
});

describe('static routes and guards', () => {
  it('delegates a static route to the static plugin at its prefix, beside proxy routes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'routing-static-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<title>spa</title>');
    await writeFile(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
    const service = await upstream((req, res) => void res.end(`api ${req.url}`));
    const { url, app } = await gateway(
      {
        routes: [
          { match: '/app/*', static: dir, spa: true },
          { match: '/app/api/*', target: service.url, health: false },
        ],
      },
      [createConfigPlugin()],
    );
    const html = { accept: 'text/html' };
    expect(await (await fetch(`${url}/app/assets/app.js`)).text()).toBe('console.log(1)');
    expect(await (await fetch(`${url}/app/some/page`, { headers: html })).text()).toBe(
      '<title>spa</title>',
    );
    expect(await (await fetch(`${url}/app/api/items`)).text()).toBe('api /app/api/items');
    expect((await fetch(`${url}/elsewhere`, { headers: html })).status).toBe(404);
    expect(app.context.services.has('static')).toBe(true);
    // A plugin the app registered itself: listed, and its configuration shown like any other.
    expect(app.context.plugins()).toContainEqual(
      expect.objectContaining({ name: 'static:/app', companionOf: 'routing', state: 'ready' }),
    );
    const config = (await (await fetch(`${url}/api/config`)).json()) as {
      plugins: Record<string, Record<string, unknown>>;
    };
    expect(config.plugins['static:/app']).toMatchObject({
      root: dir,
      spa: true,
      mountPath: '/app',
    });
  });

  it('serves a whole site from one routing plugin: API proxied, a rewrite, the SPA at /*, CORS', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'routing-static-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, 'index.html'), '<title>site</title>');
    await writeFile(path.join(dir, 'new'), 'the new page');
    const service = await upstream((req, res) => void res.end(`api ${req.url}`));
    const origin = 'https://app.example.com';
    const { url } = await gateway({
      routes: [
        { match: '/api/*', target: service.url, health: false },
        { match: '/old', rewrite: '/new' },
        { match: '/*', static: dir, spa: true },
      ],
      cors: { origin: [origin], credentials: true },
    });
    const api = await fetch(`${url}/api/items`, { headers: { origin } });
    expect(await api.text()).toBe('api /api/items');
    expect(api.headers.get('access-control-allow-origin')).toBe(origin);
    expect(api.headers.get('access-control-allow-credentials')).toBe('true');
    const html = { accept: 'text/html' };
    expect(await (await fetch(`${url}/old`, { headers: html })).text()).toBe('the new page');
    expect(await (await fetch(`${url}/any/page`, { headers: html })).text()).toBe(
      '<title>site</title>',
    );
    expect((await fetch(`${url}/missing.js`)).status).toBe(404);
  });

  it('fails createApp with a ConfigError naming the bad option of a static route', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'routing-static-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const failure = (() => {
      try {
        createApp({
          name: 'bad-static',
          logger: { level: 'silent' },
          plugins: [
            createRoutingPlugin({
              routes: [
                {
                  match: '/docs/*',
                  static: dir,
                  options: { cache: { maxAge: -1 }, colour: 'red' },
                },
              ],
            }),
          ],
        });
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).issues.map((issue) => issue.name)).toEqual(
      expect.arrayContaining(['plugins.static:/docs.cache.maxAge', 'plugins.static:/docs']),
    );
    expect((failure as ConfigError).message).toContain('colour');
  });

  it("leaves the static service and the releases API to the app's frontend beside a static route", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'routing-static-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(path.join(dir, 'docs'));
    await mkdir(path.join(dir, 'releases', 'v1'), { recursive: true });
    await writeFile(path.join(dir, 'docs', 'guide.txt'), 'the guide');
    await writeFile(path.join(dir, 'releases', 'v1', 'index.html'), '<title>v1</title>');
    const { url, app } = await gateway(
      { routes: [{ match: '/docs/*', static: path.join(dir, 'docs') }] },
      [createStaticPlugin({ root: path.join(dir, 'releases'), spa: true })],
    );
    expect(await (await fetch(`${url}/docs/guide.txt`)).text()).toBe('the guide');
    expect(
      await (await fetch(`${url}/some/page`, { headers: { accept: 'text/html' } })).text(),
    ).toBe('<title>v1</title>');
    expect(app.context.services.get('static')).toMatchObject({ releases: true });
    expect(app.context.services.list()).toContainEqual({ key: 'static', provider: 'static' });
    expect(await (await fetch(`${url}/api/static/releases`)).json()).toMatchObject({
      enabled: true,
      active: 'v1',
    });
    expect(app.context.plugins().map((plugin) => plugin.name)).toEqual(
      expect.arrayContaining(['routing', 'static:/docs', 'static']),
    );
  });

  it('runs edge guards before proxying, with the matched route, and lets them answer', async () => {
    const service = await upstream();
    const { url, app } = await gateway({
      routes: [{ id: 'api', match: '/api/*', target: service.url, health: false }],
    });
    const seen: unknown[] = [];
    app.context.edge.add({
      name: 'test-guard',
      phase: 'guard',
      run: ({ req, res, route }) => {
        seen.push({ url: req.url, id: route?.id, target: route?.target });
        if (req.url !== '/api/blocked') return false;
        res.writeHead(429).end();
        return true;
      },
    });
    expect((await fetch(`${url}/api/blocked`)).status).toBe(429);
    expect((await fetch(`${url}/api/./open`)).status).toBe(200);
    expect(seen).toEqual([
      { url: '/api/blocked', id: 'api', target: service.url },
      { url: '/api/open', id: 'api', target: service.url },
    ]);
    expect(service.seen.map((request) => request.url)).toEqual(['/api/open']);
  });

  it('applies the rate-limit plugin and the security headers to proxied requests', async () => {
    const service = await upstream((req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      if (req.url === '/api/own-csp')
        res.setHeader('content-security-policy', "default-src 'none'");
      res.end('ok');
    });
    const { url, logs } = await gateway(
      { routes: [{ match: '/api/*', target: service.url, health: false }] },
      [
        createRateLimitPlugin({ rules: [{ match: '/api/*', windowMs: 60_000, limit: 3 }] }),
        createSecurityPlugin(),
      ],
    );
    const first = await fetch(`${url}/api/x`);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit')).toMatch(/remaining=2/);
    expect(first.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(first.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${url}/api/own-csp`)).headers.get('content-security-policy')).toBe(
      "default-src 'none'",
    );
    expect((await fetch(`${url}/api/x`)).status).toBe(200);
    const limited = await fetch(`${url}/api/x`, { headers: { 'x-request-id': 'limited-1' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-request-id')).toBe('limited-1');
    // A hook's own answer carries the security headers too (the data set: it is problem+json).
    expect(limited.headers.get('x-content-type-options')).toBe('nosniff');
    expect(limited.headers.get('content-security-policy')).toBe(DATA_CSP);
    expect(await limited.json()).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      requestId: 'limited-1',
    });
    expect(service.seen).toHaveLength(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logs.find((line) => line.requestId === 'limited-1')).toMatchObject({
      res: { statusCode: 429 },
    });
  });
});
