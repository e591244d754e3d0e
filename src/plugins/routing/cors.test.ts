import { describe, expect, it } from 'vitest';
import { definePlugin } from '../../index.js';
import {
  startUpstream,
  type TestUpstream,
  useTestServers,
} from '../../../test/support/upstream.js';
const { cleanups, gateway } = useTestServers();

async function upstream(): Promise<TestUpstream> {
  // The service tries to open itself to everyone; the gateway owns the policy.
  const started = await startUpstream((_req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    res.end('from upstream');
  });
  cleanups.push(started.close);
  return started;
}
const own = definePlugin({
  name: 'own',
  routes: [
    { method: 'get', path: '/local', handler: (_req, res) => void res.send('from express') },
  ],
});
const APP = 'https://app.example.com';
const preflight = (url: string, origin: string, method = 'PUT', headers = 'content-type') =>
  fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': headers,
    },
  });

describe('CORS', () => {
  it('adds nothing by default (same-origin only) and drops the upstream’s own CORS headers', async () => {
    const service = await upstream();
    const { url } = await gateway(
      { routes: [{ match: '/api/*', target: service.url, health: false }] },
      [own],
    );
    const proxied = await fetch(`${url}/api/x`, { headers: { origin: APP } });
    expect(await proxied.text()).toBe('from upstream');
    expect(proxied.headers.get('access-control-allow-origin')).toBeNull();
    expect(
      (await fetch(`${url}/local`, { headers: { origin: APP } })).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
  });

  it('allows listed origins with credentials on proxied and Express routes, and nobody else', async () => {
    const service = await upstream();
    const { url } = await gateway(
      {
        routes: [{ match: '/api/*', target: service.url, health: false }],
        cors: { origin: [APP], credentials: true },
      },
      [own],
    );
    for (const path of ['/api/x', '/local']) {
      const allowed = await fetch(`${url}${path}`, { headers: { origin: APP } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
      expect(allowed.headers.get('access-control-expose-headers')).toBe('x-request-id');
      expect(allowed.headers.get('vary')).toContain('Origin');
      const foreign = await fetch(`${url}${path}`, { headers: { origin: 'https://evil.example' } });
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      expect(foreign.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('answers preflights itself, allowing only the configured methods and headers', async () => {
    const service = await upstream();
    const { url } = await gateway({
      routes: [{ match: '/api/*', target: service.url, health: false }],
      cors: { origin: [APP], methods: ['GET', 'PUT'], headers: ['content-type'], maxAge: 120 },
    });
    const ok = await preflight(`${url}/api/x`, APP);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-allow-methods')).toBe('GET, PUT');
    expect(ok.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(ok.headers.get('access-control-max-age')).toBe('120');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    for (const refused of [
      preflight(`${url}/api/x`, APP, 'DELETE'),
      preflight(`${url}/api/x`, APP, 'PUT', 'x-secret'),
      preflight(`${url}/api/x`, 'https://evil.example'),
    ]) {
      const response = await refused;
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect(service.seen).toHaveLength(0);
  });

  it('takes the preflight maxAge as a duration, or a number of seconds as the header reads it', async () => {
    const service = await upstream();
    const { url } = await gateway({
      routes: [{ match: '/api/*', target: service.url, health: false }],
      cors: { origin: [APP], maxAge: '1h' },
    });
    expect((await preflight(`${url}/api/x`, APP)).headers.get('access-control-max-age')).toBe(
      '3600',
    );
  });

  it('answers any origin with * when so configured', async () => {
    const service = await upstream();
    const { url } = await gateway({
      routes: [{ match: '/api/*', target: service.url, health: false }],
      cors: { origin: '*' },
    });
    const response = await fetch(`${url}/api/x`, { headers: { origin: 'https://anyone.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
