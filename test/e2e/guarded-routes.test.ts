import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, requireBuiltUi, startFullApp, type FullApp } from './support/full-app.js';

/**
 * Every route the full app registers, enumerated from the app itself: each admin route and each
 * control panel API route (login aside) must answer 401 without credentials, so a plugin added
 * later cannot leave a management endpoint open by accident. The probes stay public.
 */

let target: FullApp;
beforeAll(async () => {
  requireBuiltUi();
  target = await startFullApp();
});
afterAll(async () => {
  await target?.stop();
});

/** Route parameters that name something the demo has, so a guarded read answers 200. */
const KNOWN: Record<string, string> = { service: 'api', slot: 'slot-a' };

/** A concrete URL for a route pattern: parameters and wildcards get a harmless value. */
function concrete(path: string): string {
  return path
    .replace(/\{\/\*\w+\}/g, '/x')
    .replace(/\*\w+/g, 'x')
    .replace(/:(\w+)/g, (_whole, name: string) => KNOWN[name] ?? 'x')
    .replace(/[{}]/g, '');
}

const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;

describe('guarded routes', () => {
  // First: the other test spends wrong Basic credentials, which locks the client out for a minute.
  it('marks every answer of every admin route Cache-Control: no-store, refused or answered', async () => {
    const admin = target.app.context.routes().filter((route) => route.access === 'admin');
    const paths = admin.map((route) => route.path);
    for (const named of [
      '/api/database',
      '/api/routing/routes',
      '/api/static/releases',
      '/cpanel/api/traffic',
      '/cpanel/api/traffic/slots',
      '/cpanel/api/traffic/history',
      '/cpanel/api/traffic/services/:service/slots/:slot/logs',
    ]) {
      expect(paths).toContain(named);
    }
    const cacheable: string[] = [];
    const answered = new Set<string>();
    for (const route of admin) {
      const method = route.method === 'all' ? 'GET' : route.method.toUpperCase();
      // Writes name a service that does not exist, so nothing the demo runs changes.
      const body =
        method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify({ service: 'nope' });
      for (const headers of [{}, { authorization: basic }] as Record<string, string>[]) {
        const response = await fetch(`${target.base}${concrete(route.path)}`, {
          method,
          headers: { ...headers, 'content-type': 'application/json' },
          body,
        });
        const label = `${method} ${route.path} -> ${response.status}${headers.authorization ? ' (logged in)' : ''}`;
        if (!/(^|,)\s*no-store\s*(,|$)/.test(response.headers.get('cache-control') ?? ''))
          cacheable.push(`${label}: ${response.headers.get('cache-control')}`);
        if (headers.authorization && response.status < 300) answered.add(route.path);
        await response.body?.cancel();
      }
    }
    expect(cacheable).toEqual([]);
    // The table covers real answers, not only refusals.
    for (const path of [
      '/api/database',
      '/api/routing/routes',
      '/api/static/releases',
      '/cpanel/api/traffic',
      '/cpanel/api/traffic/slots',
      '/cpanel/api/traffic/history',
      '/cpanel/api/traffic/services/:service/slots/:slot/logs',
      '/api/logs/stream',
    ]) {
      expect([...answered], path).toContain(path);
    }
  });

  it('refuses every admin route and every /cpanel/api route except login without credentials', async () => {
    const routes = target.app.context.routes();
    const guarded = routes.filter(
      (route) => route.access === 'admin' || route.path.startsWith('/cpanel/api/'),
    );
    const exempt = routes.filter((route) => route.path === '/cpanel/api/login');
    expect(exempt).toHaveLength(1);
    // The panel's own API is declared admin, login aside.
    for (const route of routes.filter(
      (candidate) =>
        candidate.path.startsWith('/cpanel/api/') && candidate.path !== '/cpanel/api/login',
    )) {
      expect(route.access, `${route.method} ${route.path}`).toBe('admin');
    }
    const expected = [
      '/api/health',
      '/api/config',
      '/api/logs',
      '/api/logs/stream',
      '/api/diagnostics',
      '/api/cache/stats',
      '/api/cache/flush',
      '/api/database',
      '/api/routing/routes',
      '/cpanel/api/ui',
      '/cpanel/api/plugins',
      '/cpanel/api/session',
      '/cpanel/api/logout',
    ];
    expect(guarded.map((route) => route.path)).toEqual(expect.arrayContaining(expected));

    const open: string[] = [];
    for (const route of guarded.filter((candidate) => candidate.path !== '/cpanel/api/login')) {
      const method = route.method === 'all' ? 'GET' : route.method.toUpperCase();
      for (const headers of [
        {},
        { authorization: 'Basic YWRtaW46d3Jvbmc=' },
        { cookie: 'cpanel_session=forged.value' },
      ] as Record<string, string>[]) {
        const response = await fetch(`${target.base}${concrete(route.path)}`, {
          method,
          headers: { ...headers, 'content-type': 'application/json' },
          body: method === 'GET' || method === 'HEAD' ? undefined : '{}',
        });
        // Wrong Basic credentials count towards the login limit, so after five they get 429: still refused.
        const refused = 'authorization' in headers ? [401, 429] : [401];
        if (!refused.includes(response.status))
          open.push(
            `${method} ${route.path} -> ${response.status} with ${JSON.stringify(headers)}`,
          );
        if (method !== 'HEAD')
          expect(response.headers.get('content-type'), route.path).toContain(
            'application/problem+json',
          );
        await response.body?.cancel();
      }
    }
    expect(open).toEqual([]);
  });

  it('keeps the probes open', async () => {
    for (const probe of ['/health/live', '/health/ready', '/health/startup']) {
      const response = await fetch(`${target.base}${probe}`);
      expect(response.status, probe).toBe(200);
    }
  });
});
