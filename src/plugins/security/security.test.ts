import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  createApp,
  definePlugin,
  type App,
  type AppOptions,
  type ServerPlugin,
} from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { httpsGet, serveOverTls } from '../../../test/support/tls.js';
import { createRoutingPlugin } from '../routing/index.js';
import { startUpstream } from '../../../test/support/upstream.js';
import {
  DATA_CSP,
  createSecurityPlugin,
  dataHeaders,
  securityHeaders,
  type SecurityPluginOptions,
} from './index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  options?: SecurityPluginOptions,
  extra: ServerPlugin[] = [],
  appOptions: Partial<AppOptions> = {},
): Promise<{ app: App; url: string }> {
  const app = createApp({
    name: 'sec',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    ...appOptions,
    plugins: [
      createSecurityPlugin(options),
      definePlugin({
        name: 'hello',
        routes: [
          {
            method: 'get',
            path: '/hello',
            handler: (_req, res) => void res.json({ hello: 'world' }),
          },
        ],
      }),
      ...extra,
    ],
  });
  cleanups.push(() => app.stop());
  await app.start();
  return { app, url: baseUrl(app) };
}

const EXPECTED_CSP =
  "default-src 'self';base-uri 'self';connect-src 'self';font-src 'self' data:;form-action 'self';frame-ancestors 'self';" +
  "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self'";

describe('security plugin', () => {
  it('sends a same-origin CSP and helmet headers on answers and on errors', async () => {
    const { url } = await start();
    for (const path of ['/hello', '/missing']) {
      const res = await fetch(`${url}${path}`);
      expect(res.headers.get('content-security-policy'), path).toBe(EXPECTED_CSP);
      // Plain HTTP: HSTS would only advertise a policy that is not in force.
      expect(res.headers.get('strict-transport-security')).toBeNull();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('merges CSP overrides (either spelling), removes directives with null, and turns HSTS off', async () => {
    const { url } = await start({
      csp: {
        imgSrc: ["'self'", 'data:', 'https://images.example.com'],
        'style-src': ["'self'", "'unsafe-inline'"],
        'script-src-attr': null,
      },
      hsts: false,
      helmet: { referrerPolicy: { policy: 'same-origin' } },
    });
    const res = await fetch(`${url}/hello`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("img-src 'self' data: https://images.example.com;");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).not.toContain('script-src-attr');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
  });

  it('offers report-only mode and no CSP at all', async () => {
    const reportOnly = securityHeaders({ cspReportOnly: true });
    expect(reportOnly['content-security-policy-report-only']).toBe(EXPECTED_CSP);
    expect(reportOnly['content-security-policy']).toBeUndefined();
    expect(securityHeaders({ csp: false })['content-security-policy']).toBeUndefined();
  });

  it('gives plugins answering before Express the same headers', async () => {
    let seen: Record<string, string> = {};
    const probe = definePlugin({
      name: 'probe',
      dependencies: ['security'],
      onInit: (ctx) => void (seen = ctx.get('security').headers()),
    });
    const { url } = await start(undefined, [probe]);
    const res = await fetch(`${url}/hello`);
    for (const [name, value] of Object.entries(seen))
      expect(res.headers.get(name), name).toBe(value);
    const { 'strict-transport-security': hsts, ...always } = securityHeaders();
    expect(seen).toEqual(always);
    expect(hsts).toBe('max-age=31536000; includeSubDomains');
  });

  it('sends proxied data answers the headers that protect data, documents the full set', async () => {
    const service = await startUpstream((req, res) => {
      const type = new URL(req.url!, 'http://upstream').searchParams.get('type');
      if (type) res.setHeader('content-type', type);
      res.end(type === 'application/json' ? '{}' : 'body');
    });
    cleanups.push(service.close);
    const routing = createRoutingPlugin({
      routes: [
        { match: '/proxied/*', target: service.url, health: false },
        { match: '/down/*', target: 'http://127.0.0.1:1', health: false },
      ],
    });
    const { url } = await start(undefined, [routing]);
    const headersOf = async (type?: string) => {
      const res = await fetch(`${url}/proxied/a${type ? `?type=${encodeURIComponent(type)}` : ''}`);
      expect(res.status).toBe(200);
      return res.headers;
    };
    for (const type of ['application/json', 'text/plain; charset=utf-8', 'image/png']) {
      const headers = await headersOf(type);
      expect(headers.get('x-content-type-options'), type).toBe('nosniff');
      expect(headers.get('cross-origin-resource-policy'), type).toBe('same-origin');
      expect(headers.get('content-security-policy'), type).toBe(DATA_CSP);
      expect(headers.get('x-frame-options'), type).toBeNull();
      expect(headers.get('cross-origin-opener-policy'), type).toBeNull();
    }
    // Anything a browser could render or sniff as a page gets the document set.
    for (const type of [undefined, 'text/html', 'image/svg+xml', 'application/xml', 'text/css']) {
      const headers = await headersOf(type);
      expect(headers.get('content-security-policy'), type).toBe(EXPECTED_CSP);
      expect(headers.get('x-frame-options'), type).toBe('SAMEORIGIN');
      expect(headers.get('cross-origin-opener-policy'), type).toBe('same-origin');
    }
    // The gateway's own problem answers (an upstream that is down) are data too.
    const down = await fetch(`${url}/down/a`);
    expect(down.status).toBe(502);
    expect(down.headers.get('content-security-policy')).toBe(DATA_CSP);
    expect(down.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('keeps report-only mode and the absence of a CSP on data answers', () => {
    expect(dataHeaders(securityHeaders({ cspReportOnly: true }))).toEqual({
      'content-security-policy-report-only': DATA_CSP,
      'cross-origin-resource-policy': 'same-origin',
      'x-content-type-options': 'nosniff',
    });
    expect(dataHeaders(securityHeaders({ csp: false }))['content-security-policy']).toBeUndefined();
  });

  it('refuses an invalid policy at start-up, naming the option and the reason', () => {
    const attempt = () =>
      createApp({
        name: 'sec',
        logger: { level: 'silent' },
        plugins: [createSecurityPlugin({ csp: { 'script-src': ['self'] } })],
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /plugins\.security\.csp: expected valid csp settings \(Content-Security-Policy.*script-src/,
    );
  });
});

describe('Strict-Transport-Security', () => {
  const HSTS = 'max-age=31536000; includeSubDomains';

  /** An app with an Express route and a proxied route, reachable over plain HTTP and over TLS. */
  async function lanes(
    options: { trustProxy?: AppOptions['trustProxy']; security?: SecurityPluginOptions } = {},
  ) {
    const service = await startUpstream();
    cleanups.push(service.close);
    const routing = createRoutingPlugin({
      routes: [{ match: '/proxied/*', target: service.url, health: false }],
    });
    const { app, url } = await start(options.security, [routing], {
      trustProxy: options.trustProxy,
    });
    const tls = await serveOverTls(app.server);
    cleanups.push(tls.close);
    const hstsOf = async (base: string, path: string, headers: Record<string, string> = {}) => {
      const answer = base.startsWith('https:')
        ? await httpsGet(`${base}${path}`, headers)
        : await fetch(`${base}${path}`, { headers });
      const value =
        answer.headers instanceof Headers
          ? answer.headers.get('strict-transport-security')
          : answer.headers['strict-transport-security'];
      expect(answer.status, path).toBe(200);
      return value ?? null;
    };
    return { url, tlsUrl: tls.url, hstsOf };
  }

  it('is sent over TLS and never over plain HTTP, on Express and proxied routes alike', async () => {
    const { url, tlsUrl, hstsOf } = await lanes();
    for (const path of ['/hello', '/proxied/a']) {
      expect(await hstsOf(url, path), `http ${path}`).toBeNull();
      expect(await hstsOf(tlsUrl, path), `https ${path}`).toBe(HSTS);
      // Without a trusted proxy, a client cannot claim TLS for itself.
      expect(
        await hstsOf(url, path, { 'x-forwarded-proto': 'https' }),
        `claimed ${path}`,
      ).toBeNull();
    }
  });

  it('believes X-Forwarded-Proto only from proxies the app trusts', async () => {
    const { url, hstsOf } = await lanes({ trustProxy: ['loopback'] });
    for (const path of ['/hello', '/proxied/a']) {
      expect(await hstsOf(url, path, { 'x-forwarded-proto': 'https' }), path).toBe(HSTS);
      expect(await hstsOf(url, path, { 'x-forwarded-proto': 'http' }), path).toBeNull();
      expect(await hstsOf(url, path), path).toBeNull();
    }
    // Both lanes ask the app's one trustProxy: a proxy trusted by address or by hop count.
    const byHops = await lanes({ trustProxy: 1 });
    for (const path of ['/hello', '/proxied/a'])
      expect(await byHops.hstsOf(byHops.url, path, { 'x-forwarded-proto': 'https' }), path).toBe(
        HSTS,
      );
    const elsewhere = await lanes({ trustProxy: ['10.0.0.0/8'] });
    for (const path of ['/hello', '/proxied/a'])
      expect(
        await elsewhere.hstsOf(elsewhere.url, path, { 'x-forwarded-proto': 'https' }),
        path,
      ).toBeNull();
  });

  it('is not sent over TLS either when turned off', async () => {
    const { tlsUrl, hstsOf } = await lanes({ security: { hsts: false } });
    for (const path of ['/hello', '/proxied/a'])
      expect(await hstsOf(tlsUrl, path), path).toBeNull();
  });
});
