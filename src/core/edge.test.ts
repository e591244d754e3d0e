import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { definePlugin } from './plugin.js';
import type { EdgeExchange, EdgeHook } from './edge.js';
import { EdgePipeline, NO_HEADERS, addDefaultHeaders } from './edge.js';
import { createRateLimitPlugin } from '../plugins/rate-limit/index.js';
import {
  rawRequest,
  startGateway,
  startUpstream,
  type TestGateway,
  type TestUpstream,
} from '../../test/support/upstream.js';

/**
 * The edge pipeline as a gateway runs it: the path normalised once, the route matched once,
 * every hook in its phase seeing both, for proxied requests and WebSocket upgrades alike.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function upstream(handler?: http.RequestListener): Promise<TestUpstream> {
  const started = await startUpstream(handler);
  cleanups.push(started.close);
  return started;
}

async function gateway(...args: Parameters<typeof startGateway>): Promise<TestGateway> {
  const started = await startGateway(...args);
  cleanups.push(() => started.app.stop());
  return started;
}

/** A plugin that records what a hook of the given phase sees, and may answer. */
function recorder(phase: EdgeHook['phase'], answer?: (exchange: EdgeExchange) => boolean) {
  const seen: { path: string; route?: string; upgrade: boolean; exchange: EdgeExchange }[] = [];
  const plugin = definePlugin({
    name: `record-${phase}`,
    onInit(ctx) {
      ctx.app.edge.add({
        name: `record-${phase}`,
        phase,
        lanes: ['proxy'],
        run(exchange) {
          seen.push({
            path: exchange.path,
            route: exchange.route?.id,
            upgrade: exchange.upgrade,
            exchange,
          });
          return answer?.(exchange) ?? false;
        },
      });
    },
  });
  return { plugin, seen };
}

describe('EdgePipeline', () => {
  it('runs hooks by phase whatever the order they were added in, waiting only for promises', async () => {
    const pipeline = new EdgePipeline();
    const order: string[] = [];
    const hook = (name: string, phase: EdgeHook['phase'], async = false): EdgeHook => ({
      name,
      phase,
      run: () => {
        order.push(name);
        return async ? Promise.resolve(false) : false;
      },
    });
    pipeline.add(hook('headers', 'headers'));
    pipeline.add(hook('guard', 'guard'));
    pipeline.add(hook('limit', 'limit', true));
    pipeline.add(hook('identify', 'identify'));
    pipeline.add(hook('authenticate', 'authenticate'));
    const exchange = { lane: 'proxy', res: { destroyed: false } } as unknown as EdgeExchange;
    let proceeded = false;
    pipeline.run(exchange, {
      proceed: () => (proceeded = true),
      fail: (_exchange, error) => {
        throw error;
      },
    });
    // Synchronous up to the first promise: headers, identify and authenticate ran, the rest waits.
    expect(order).toEqual(['headers', 'identify', 'authenticate', 'limit']);
    expect(proceeded).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['headers', 'identify', 'authenticate', 'limit', 'guard']);
    expect(proceeded).toBe(true);
    expect(() =>
      pipeline.add({ name: 'odd', phase: 'later' as EdgeHook['phase'], run: () => false }),
    ).toThrow(/phase "later" is not one of/);
  });

  it('stops at a hook that answered and reports one that threw', () => {
    const pipeline = new EdgePipeline();
    pipeline.add({ name: 'answers', phase: 'limit', run: () => true });
    pipeline.add({
      name: 'never',
      phase: 'guard',
      run: () => {
        throw new Error('must not run');
      },
    });
    const exchange = { lane: 'express', res: { destroyed: false } } as unknown as EdgeExchange;
    let outcome = 'none';
    pipeline.run(exchange, {
      proceed: () => (outcome = 'proceeded'),
      fail: () => (outcome = 'failed'),
    });
    expect(outcome).toBe('none');

    const failing = new EdgePipeline();
    failing.add({
      name: 'throws',
      phase: 'guard',
      run: () => {
        throw new Error('boom');
      },
    });
    failing.run(exchange, {
      proceed: () => (outcome = 'proceeded'),
      fail: (_exchange, error) => (outcome = (error as Error).message),
    });
    expect(outcome).toBe('boom');
  });
});

describe('addDefaultHeaders', () => {
  it("shares the first hook's lists, copies for a second, and never changes a list it was given", () => {
    const security = {
      document: ['x-frame-options', 'DENY'],
      data: ['x-content-type-options', 'nosniff'],
    };
    const other = { document: ['x-doc', '1'], data: ['x-data', '2'] };
    const exchange = {
      defaultHeaders: NO_HEADERS,
      defaultDataHeaders: NO_HEADERS,
    } as unknown as EdgeExchange;
    addDefaultHeaders(exchange, security.document, security.data);
    expect(exchange.defaultHeaders).toBe(security.document);
    expect(exchange.defaultDataHeaders).toBe(security.data);
    addDefaultHeaders(exchange, other.document, other.data);
    expect(exchange.defaultHeaders).toEqual(['x-frame-options', 'DENY', 'x-doc', '1']);
    expect(exchange.defaultDataHeaders).toEqual([
      'x-content-type-options',
      'nosniff',
      'x-data',
      '2',
    ]);
    expect(Object.isFrozen(exchange.defaultHeaders)).toBe(true);
    // A hook with nothing to add keeps the list it found.
    const before = exchange.defaultHeaders;
    addDefaultHeaders(exchange, NO_HEADERS, NO_HEADERS);
    expect(exchange.defaultHeaders).toBe(before);
    // The next request starts from the same shared lists, as they were.
    expect(security.document).toEqual(['x-frame-options', 'DENY']);
    expect(security.data).toEqual(['x-content-type-options', 'nosniff']);
    expect(NO_HEADERS).toEqual([]);
    expect(Object.isFrozen(NO_HEADERS)).toBe(true);
  });
});

describe('the edge at the gateway', () => {
  it('matches the route once per request: each hook runs once, on one exchange, with the route and normalised path', async () => {
    const service = await upstream();
    const limit = recorder('limit');
    const guard = recorder('guard');
    const { url } = await gateway(
      {
        routes: [
          { id: 'api', match: '/api/*', target: service.url, health: false },
          { id: 'other', match: '/other/*', target: service.url, health: false },
        ],
      },
      [guard.plugin, limit.plugin],
    );
    for (const path of ['/api/a', '/api/./b//c', '/other/x'])
      expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    expect(limit.seen.map(({ path, route }) => ({ path, route }))).toEqual([
      { path: '/api/a', route: 'api' },
      { path: '/api/b/c', route: 'api' },
      { path: '/other/x', route: 'other' },
    ]);
    // The guard ran after the limit (its phase), once per request, on the very same exchange.
    expect(guard.seen.map((entry) => entry.exchange)).toEqual(
      limit.seen.map((entry) => entry.exchange),
    );
    guard.seen.forEach((entry, index) => expect(entry.exchange).toBe(limit.seen[index].exchange));
    expect(service.seen.map((request) => request.url)).toEqual(['/api/a', '/api/b/c', '/other/x']);
  });

  it('shows hooks one route object per upstream: shared by requests, replaced by a switch', async () => {
    const [blue, green] = [await upstream(), await upstream()];
    const limit = recorder('limit');
    const started = await gateway(
      { routes: [{ id: 'api', match: '/api/*', target: blue.url, health: false }] },
      [limit.plugin],
    );
    for (let index = 0; index < 2; index++)
      expect((await fetch(`${started.url}/api/a`)).status).toBe(200);
    started.app.context.services.get('routing').setTarget('api', green.url);
    expect((await fetch(`${started.url}/api/a`)).status).toBe(200);
    const routes = limit.seen.map((entry) => entry.exchange.route!);
    expect(routes[1]).toBe(routes[0]);
    expect(routes[0]).toMatchObject({ id: 'api', plane: 'data', target: blue.url });
    expect(routes[2]).not.toBe(routes[0]);
    expect(routes[2]).toMatchObject({ id: 'api', plane: 'data', target: green.url });
    expect(Object.isFrozen(routes[2])).toBe(true);
    expect(green.seen).toHaveLength(1);
  });

  it('decides routing, rate limits and guards on the same path for every tricky spelling', async () => {
    const service = await upstream();
    const guard = recorder('guard');
    const { port } = await gateway(
      { routes: [{ id: 'api', match: '/api/v1/*', target: service.url, health: false }] },
      [
        guard.plugin,
        createRateLimitPlugin({
          rules: [
            { name: 'api', match: '/api/v1/*', windowMs: 60_000, limit: 100 },
            { name: 'admin', match: '/admin/*', windowMs: 60_000, limit: 100 },
          ],
        }),
      ],
    );
    // [request target, what the upstream must see (or the status when it must see nothing)]
    const table: [string, string | number][] = [
      ['/api/v1/users', '/api/v1/users'],
      ['/api/v1/./users', '/api/v1/users'],
      ['/api/v1//users', '/api/v1/users'],
      ['/api/v1/%75sers', '/api/v1/users'],
      ['/api/v1/a/../users', '/api/v1/users'],
      ['/api/v1/%2e%2e/v1/users', '/api/v1/users'],
      ['/api/v1/../../admin/x', 404],
      ['/api/v1/%2e%2e/%2e%2e/admin/x', 404],
      ['/api/v1/a%2fb', 400],
      ['/api/v1/a%5cb', 400],
      ['/api/v1/a\\b', 400],
    ];
    for (const [target] of table)
      await rawRequest(
        port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      );
    const forwarded = service.seen.map((request) => request.url);
    const expectedForwarded = table
      .filter(([, outcome]) => typeof outcome === 'string')
      .map(([, outcome]) => outcome);
    expect(forwarded).toEqual(expectedForwarded);
    // The guard saw exactly the requests the router proxied, with the path that went upstream.
    expect(guard.seen.map((entry) => entry.path)).toEqual(expectedForwarded);
    expect(guard.seen.every((entry) => entry.route === 'api')).toBe(true);
    // The limiter counted them under the api rule: its remaining count says how many.
    const answer = await fetch(`http://127.0.0.1:${port}/api/v1/users`);
    expect(answer.headers.get('ratelimit')).toMatch(
      new RegExp(`remaining=${100 - expectedForwarded.length - 1}\\b`),
    );
  });

  it('gives two clients behind a trusted proxy two buckets, and never believes an untrusted X-Forwarded-For', async () => {
    const service = await upstream();
    const limits = () => createRateLimitPlugin({ default: { windowMs: 60_000, limit: 2 } });
    const behindProxy = await gateway(
      { routes: [{ match: '/*', target: service.url, health: false }] },
      [limits()],
      'info',
      { trustProxy: ['loopback'] },
    );
    const from = (base: string, client: string) =>
      fetch(`${base}/x`, { headers: { 'x-forwarded-for': client } }).then(
        (response) => response.status,
      );
    expect([
      await from(behindProxy.url, '198.51.100.1'),
      await from(behindProxy.url, '198.51.100.1'),
      await from(behindProxy.url, '198.51.100.1'),
    ]).toEqual([200, 200, 429]);
    expect(await from(behindProxy.url, '198.51.100.2')).toBe(200);

    const direct = await gateway(
      { routes: [{ match: '/*', target: service.url, health: false }] },
      [limits()],
    );
    // Each request claims to be someone new; the peer is what counts, so the third is refused.
    expect([
      await from(direct.url, '203.0.113.1'),
      await from(direct.url, '203.0.113.2'),
      await from(direct.url, '203.0.113.3'),
    ]).toEqual([200, 200, 429]);
  });

  it('runs rate limits and guards on WebSocket upgrades, with the matched route', async () => {
    const server = http.createServer((_req, res) => void res.end('plain'));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) =>
        ws.on('message', (data) => ws.send(`echo: ${String(data)}`)),
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    });
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const guard = recorder('guard', (exchange) => {
      if (!exchange.path.endsWith('/closed')) return false;
      exchange.res.writeHead(403, { 'content-type': 'text/plain' }).end('closed');
      return true;
    });
    const { url } = await gateway(
      { routes: [{ id: 'ws', match: '/ws/*', target, ws: true, health: false }] },
      [
        guard.plugin,
        createRateLimitPlugin({ rules: [{ match: '/ws/*', windowMs: 60_000, limit: 2 }] }),
      ],
    );
    const open = (path: string) =>
      new Promise<WebSocket | number>((resolve, reject) => {
        const socket = new WebSocket(`${url.replace('http', 'ws')}${path}`);
        socket.once('open', () => resolve(socket));
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('error', reject);
      });
    const first = await open('/ws/room');
    expect(first).toBeInstanceOf(WebSocket);
    const reply = new Promise((resolve) =>
      (first as WebSocket).once('message', (data) => resolve(String(data))),
    );
    (first as WebSocket).send('hi');
    expect(await reply).toBe('echo: hi');
    (first as WebSocket).close();
    expect(await open('/ws/closed')).toBe(403);
    // Two upgrades counted already: the third is over the limit, before any guard runs.
    expect(await open('/ws/room')).toBe(429);
    expect(guard.seen.map(({ path, route, upgrade }) => ({ path, route, upgrade }))).toEqual([
      { path: '/ws/room', route: 'ws', upgrade: true },
      { path: '/ws/closed', route: 'ws', upgrade: true },
    ]);
  });
});
