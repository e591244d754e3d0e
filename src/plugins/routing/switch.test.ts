import { describe, expect, it } from 'vitest';
import { HttpError } from '../../index.js';
import { waitFor } from '../../../test/support/http.js';
import { unusedPort, type TestUpstream, useTestServers } from '../../../test/support/upstream.js';
const { upstream, gateway } = useTestServers();

const openConnections = (service: TestUpstream) =>
  new Promise<number>((resolve) =>
    service.server.getConnections((_error, count) => resolve(count)),
  );

describe('setTarget', () => {
  it('switches new requests atomically under load while an in-flight request finishes on the old target', async () => {
    const blue = await upstream((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('blue-slow'), 600);
      else res.end('blue');
    });
    const green = await upstream((_req, res) => void res.end('green'));
    const { url, app } = await gateway({
      routes: [{ id: 'api', match: '/*', target: blue.url, health: false }],
    });
    const router = app.context.services.get('routing');

    const slow = fetch(`${url}/slow`).then(async (response) => ({
      status: response.status,
      body: await response.text(),
    }));
    const results: { startedAt: number; status: number; body: string }[] = [];
    const failures: unknown[] = [];
    let running = true;
    const worker = async () => {
      // Bounded: at most 400 requests per worker even if the clock misbehaves.
      for (let count = 0; running && count < 400; count++) {
        const startedAt = performance.now();
        try {
          const response = await fetch(`${url}/fast`);
          results.push({ startedAt, status: response.status, body: await response.text() });
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await waitFor(() => results.length >= 50, 'traffic to the first target');
    router.setTarget('api', green.url);
    const switchedAt = performance.now();
    await waitFor(
      () => results.filter((result) => result.startedAt > switchedAt).length >= 50,
      'traffic to the new target',
    );
    running = false;
    await Promise.all(workers);

    expect(failures).toEqual([]);
    expect(results.every((result) => result.status === 200)).toBe(true);
    expect(
      results
        .filter((result) => result.startedAt > switchedAt)
        .every((result) => result.body === 'green'),
    ).toBe(true);
    expect(results.some((result) => result.body === 'blue')).toBe(true);
    expect(await slow).toEqual({ status: 200, body: 'blue-slow' });
    expect(router.routes()[0]).toMatchObject({ id: 'api', target: green.url });
    // The replaced pool drains, then closes its keep-alive connections to the old target.
    await waitFor(async () => (await openConnections(blue)) === 0, 'the old pool to close');
  });

  it('accepts the route by match, and refuses unknown routes and bad URLs with clear errors', async () => {
    const blue = await upstream((_req, res) => void res.end('blue'));
    const green = await upstream((_req, res) => void res.end('green'));
    const { url, app } = await gateway({
      routes: [
        { match: '/api/*', target: blue.url, health: false },
        { match: '/old', redirect: '/new' },
      ],
    });
    const router = app.context.services.get('routing');
    router.setTarget('/api/*', green.url);
    expect(await (await fetch(`${url}/api/x`)).text()).toBe('green');
    const failure = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        return error as HttpError;
      }
      throw new Error('expected a failure');
    };
    expect(failure(() => router.setTarget('/nope', green.url))).toMatchObject({
      status: 404,
      code: 'ROUTING_ROUTE_NOT_FOUND',
    });
    expect(failure(() => router.setTarget('/old', green.url))).toMatchObject({
      status: 404,
      code: 'ROUTING_ROUTE_NOT_FOUND',
    });
    expect(failure(() => router.setTarget('/api/*', 'ftp://x'))).toMatchObject({
      status: 400,
      code: 'ROUTING_INVALID_TARGET',
    });
    expect(failure(() => router.setTarget('/api/*', 'not a url'))).toBeInstanceOf(HttpError);
    expect(await (await fetch(`${url}/api/x`)).text()).toBe('green');
  });
});

describe('upstream health', () => {
  it('checks each upstream on its health path and reports it in the listing and the registry', async () => {
    const healthy = await upstream((req, res) => {
      res.statusCode = req.url === '/ready' ? 200 : 404;
      res.end();
    });
    const deadPort = await unusedPort();
    const { url, app } = await gateway({
      routes: [
        { id: 'api', match: '/api/*', target: healthy.url, health: { path: '/ready' } },
        {
          id: 'legacy',
          match: '/legacy/*',
          target: `http://127.0.0.1:${deadPort}`,
          health: { path: '/ready', critical: false },
        },
      ],
    });
    const listing = (await (await fetch(`${url}/api/routing/routes`)).json()) as {
      routes: { id: string; health: { status: string; statusCode?: number } }[];
    };
    expect(listing.routes.find((route) => route.id === 'api')?.health).toMatchObject({
      status: 'healthy',
      statusCode: 200,
    });
    expect(listing.routes.find((route) => route.id === 'legacy')?.health).toMatchObject({
      status: 'unhealthy',
    });
    const summary = app.context.health.summary();
    expect(summary.checks.find((check) => check.name === 'routing:api')).toMatchObject({
      status: 'healthy',
      critical: false,
    });
    expect(summary.checks.find((check) => check.name === 'routing:legacy')).toMatchObject({
      status: 'unhealthy',
      critical: false,
    });
    expect(summary.status).toBe('degraded');
    expect(app.context.isReady()).toBe(true);
    expect(healthy.seen.map((request) => request.url)).toContain('/ready');
  });

  it('fails readiness while a critical upstream is down', async () => {
    const deadPort = await unusedPort();
    const { app } = await gateway({
      routes: [
        {
          match: '/api/*',
          target: `http://127.0.0.1:${deadPort}`,
          health: { critical: true, timeout: 500 },
        },
      ],
    });
    expect(app.context.isReady()).toBe(false);
  });
});
