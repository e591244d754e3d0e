import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createApp, definePlugin, type App, type ServerPlugin } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { createSecurityPlugin, securityHeaders, type SecurityPluginOptions } from './index.js';

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

async function start(options?: SecurityPluginOptions, extra: ServerPlugin[] = []): Promise<{ app: App; url: string }> {
  const app = createApp({
    name: 'sec', port: 0, host: '127.0.0.1', logger: { level: 'silent' }, shutdown: { signals: false },
    plugins: [
      createSecurityPlugin(options),
      definePlugin({ name: 'hello', routes: [{ method: 'get', path: '/hello', handler: (_req, res) => void res.json({ hello: 'world' }) }] }),
      ...extra,
    ],
  });
  apps.push(app);
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
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('merges CSP overrides (either spelling), removes directives with null, and turns HSTS off', async () => {
    const { url } = await start({
      csp: { imgSrc: ["'self'", 'data:', 'https://images.example.com'], 'style-src': ["'self'", "'unsafe-inline'"], 'script-src-attr': null },
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
    const probe = definePlugin({ name: 'probe', dependencies: ['security'], onInit: (ctx) => void (seen = ctx.get('security').headers()) });
    const { url } = await start(undefined, [probe]);
    const res = await fetch(`${url}/hello`);
    for (const [name, value] of Object.entries(seen)) expect(res.headers.get(name), name).toBe(value);
    expect(seen).toEqual(securityHeaders());
  });

  it('refuses an invalid policy at start-up, naming the option and the reason', () => {
    const attempt = () => createApp({ name: 'sec', logger: { level: 'silent' }, plugins: [createSecurityPlugin({ csp: { 'script-src': ['self'] } })] });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/plugins\.security\.csp: expected valid csp settings \(Content-Security-Policy.*script-src/);
  });
});
