import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, HttpError, createApp, type App, type AppOptions } from '../index.js';
import { baseUrl, captureLogs, rawRequest } from '../../test/support/http.js';

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

/** An app without a guard: one admin read, one admin write, one public write. */
async function start(
  options: Partial<AppOptions> = {},
): Promise<{ base: string; port: number; app: App; logs: Record<string, unknown>[] }> {
  const capture = captureLogs();
  const app = createApp({
    name: 'gate',
    port: 0,
    host: '127.0.0.1',
    logger: { destination: capture.stream, level: 'info' },
    shutdown: { signals: false },
    plugins: [
      {
        name: 'ops',
        routes: [
          {
            method: 'get',
            path: '/api/config',
            access: 'admin',
            handler: (_req, res) => void res.json({ config: 'everything' }),
          },
          {
            method: 'post',
            path: '/api/cache/flush',
            access: 'admin',
            handler: (_req, res) => void res.json({ flushed: true }),
          },
          {
            method: 'post',
            path: '/api/v1/echo',
            handler: (req, res) => void res.json({ got: req.body ?? null }),
          },
          {
            method: 'post',
            path: '/api/ops/:id/echo',
            access: 'admin',
            handler: (req, res) => void res.json({ id: req.params.id, got: req.body ?? null }),
          },
        ],
      },
    ],
    ...options,
  });
  apps.push(app);
  await app.start();
  const base = baseUrl(app);
  return { base, port: Number(new URL(base).port), app, logs: capture.lines };
}

const codeOf = (text: string) => (JSON.parse(text) as { code: string }).code;

describe('admin routes without a guard', () => {
  it('refuse a local caller that names a foreign Host (DNS rebinding) with 403 problem+json', async () => {
    const { base, port } = await start();
    for (const host of [
      `rebind.evil.example:${port}`,
      'evil.example',
      `127.0.0.1.evil.example:${port}`,
      `localhost.evil.example:${port}`,
      `user@localhost:${port}`,
    ]) {
      const answer = await rawRequest(`${base}/api/config`, { headers: { host } });
      expect(answer.status, host).toBe(403);
      expect(answer.headers['content-type'], host).toContain('application/problem+json');
      expect(codeOf(answer.text), host).toBe('ADMIN_HOST_REFUSED');
      expect(answer.text).not.toContain('everything');
    }
  });

  it('refuse a loopback peer that came through a proxy, whichever forwarding header says so', async () => {
    const { base } = await start();
    for (const [name, value] of [
      ['x-forwarded-for', '203.0.113.9'],
      ['forwarded', 'for=203.0.113.9'],
      ['x-real-ip', '203.0.113.9'],
      ['x-forwarded-host', 'api.example.com'],
      ['x-forwarded-proto', 'https'],
      ['via', '1.1 proxy'],
    ]) {
      const answer = await rawRequest(`${base}/api/config`, { headers: { [name]: value } });
      expect(answer.status, name).toBe(401);
      expect(codeOf(answer.text), name).toBe('ADMIN_GUARD_REQUIRED');
    }
  });

  it('answer a local caller that names a loopback Host, with any port', async () => {
    const { base, port } = await start();
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'LOCALHOST',
      `ops.localhost:${port}`,
      `127.1.2.3:${port}`,
      `[::1]:${port}`,
    ]) {
      const answer = await rawRequest(`${base}/api/config`, { headers: { host } });
      expect(answer.status, host).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ config: 'everything' });
    }
  });

  it('answer hosts listed in management.allowedHosts, and only those', async () => {
    const { base } = await start({ management: { allowedHosts: ['API.internal'] } });
    expect(
      (await rawRequest(`${base}/api/config`, { headers: { host: 'api.internal:8080' } })).status,
    ).toBe(200);
    expect(
      (await rawRequest(`${base}/api/config`, { headers: { host: 'other.internal:8080' } })).status,
    ).toBe(403);
  });

  it('refuse state-changing calls from another origin: foreign Origin, Origin null, Sec-Fetch-Site not same-origin', async () => {
    const { base, port } = await start();
    const refused: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `https://127.0.0.1:${port}` },
      { origin: 'not a url' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: base, 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of refused) {
      const answer = await rawRequest(`${base}/api/cache/flush`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'text/plain' },
        body: 'x',
      });
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(answer.headers['content-type']).toContain('application/problem+json');
      expect(codeOf(answer.text)).toBe('ADMIN_CROSS_SITE');
    }
    const allowed: Record<string, string>[] = [
      {},
      { origin: base },
      { origin: `http://localhost:${port}`, host: `localhost:${port}` },
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
    ];
    for (const headers of allowed) {
      const answer = await rawRequest(`${base}/api/cache/flush`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'text/plain' },
        body: 'x',
      });
      expect(answer.status, JSON.stringify(headers)).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ flushed: true });
    }
    // Reads are not state-changing; public routes are not the gate's business.
    expect(
      (await rawRequest(`${base}/api/config`, { headers: { origin: 'https://evil.example' } }))
        .status,
    ).toBe(200);
    expect(
      (
        await rawRequest(`${base}/api/v1/echo`, {
          method: 'POST',
          headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(200);
  });

  it('fails start-up naming management.allowedHosts when an entry is not a host name', () => {
    let failure: unknown;
    try {
      createApp({ name: 'gate', management: { allowedHosts: ['api.internal:8080'] } });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).issues.map((issue) => issue.name)).toEqual([
      'management.allowedHosts.0',
    ]);
  });
});

const TOKEN = 'management-token-0123456789abcdefghijkl';

describe('admin routes with a management token', () => {
  it('need Authorization: Bearer <token>: a loopback caller without it is refused, one with it passes from anywhere', async () => {
    const { base, logs } = await start({ management: { token: TOKEN } });
    const missing = await rawRequest(`${base}/api/config`);
    expect(missing.status).toBe(401);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="management"');
    expect(codeOf(missing.text)).toBe('ADMIN_TOKEN_REQUIRED');
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      'Bearer ',
      `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
    ]) {
      const wrong = await rawRequest(`${base}/api/config`, { headers: { authorization } });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.text).not.toContain('everything');
    }
    expect(
      codeOf(
        (await rawRequest(`${base}/api/config`, { headers: { authorization: 'Bearer nope' } }))
          .text,
      ),
    ).toBe('ADMIN_TOKEN_INVALID');
    expect(logs.some((line) => line.msg === 'management token refused')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);

    const right = await rawRequest(`${base}/api/config`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(right.status).toBe(200);
    expect(JSON.parse(right.text)).toEqual({ config: 'everything' });
    // The gateway holds the token; it may reach the service through a proxy or another host.
    const forwarded = await rawRequest(`${base}/api/cache/flush`, {
      method: 'POST',
      headers: {
        authorization: `bearer ${TOKEN}`,
        'x-forwarded-for': '203.0.113.9',
        host: 'api-slot-a.internal',
      },
    });
    expect(forwarded.status).toBe(200);
  });

  it('read the token from MANAGEMENT_TOKEN and show it masked in the configuration', async () => {
    vi.stubEnv('MANAGEMENT_TOKEN', TOKEN);
    try {
      const { base, app } = await start();
      expect((await rawRequest(`${base}/api/config`)).status).toBe(401);
      expect(
        (await rawRequest(`${base}/api/config`, { headers: { authorization: `Bearer ${TOKEN}` } }))
          .status,
      ).toBe(200);
      expect(app.context.managementToken()).toBe(TOKEN);
      expect(JSON.stringify(app.context.config.effective())).not.toContain(TOKEN);
      expect(
        app.context.config.environment().find((row) => row.name === 'MANAGEMENT_TOKEN'),
      ).toMatchObject({ status: 'set', value: '********', secret: true });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('fail start-up naming MANAGEMENT_TOKEN (or management.token) when the token is too short, without showing it', () => {
    const failureOf = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return error as ConfigError;
      }
      throw new Error('createApp accepted a short token');
    };
    vi.stubEnv('MANAGEMENT_TOKEN', 'short-token');
    try {
      const fromEnv = failureOf(() => createApp({ name: 'gate' }));
      expect(fromEnv).toBeInstanceOf(ConfigError);
      expect(fromEnv.issues).toEqual([
        expect.objectContaining({ name: 'MANAGEMENT_TOKEN', expected: 'at least 32 characters' }),
      ]);
      expect(fromEnv.message).not.toContain('short-token');
    } finally {
      vi.unstubAllEnvs();
    }
    const fromOption = failureOf(() =>
      createApp({ name: 'gate', management: { token: 'short-token' } }),
    );
    expect(fromOption.issues.map((issue) => issue.name)).toEqual(['management.token']);
    expect(fromOption.message).not.toContain('short-token');
  });
});

describe('admin route answers', () => {
  it("are Cache-Control: no-store: answers, refusals, and a guard's own answers", async () => {
    const { base, app } = await start();
    expect((await rawRequest(`${base}/api/config`)).headers['cache-control']).toBe('no-store');
    expect(
      (await rawRequest(`${base}/api/config`, { headers: { host: 'evil.example' } })).headers[
        'cache-control'
      ],
    ).toBe('no-store');
    app.context.setAdminGuard({
      name: 'teapot',
      middleware: (_req, res) => void res.status(418).json({ guard: 'answered' }),
    });
    const guarded = await rawRequest(`${base}/api/config`);
    expect(guarded.status).toBe(418);
    expect(guarded.headers['cache-control']).toBe('no-store');
    // Public routes are not the gate's business.
    expect(
      (await rawRequest(`${base}/api/v1/echo`, { method: 'POST' })).headers['cache-control'],
    ).toBeUndefined();
  });
});

describe('admin route bodies', () => {
  const twoMiB = 2 * 1024 * 1024;
  const part = Buffer.alloc(64 * 1024, 'x');
  /** A server that waits for the rest of the body never answers; say so instead of timing out. */
  const beforeTheBody = <T>(answer: Promise<T>) =>
    Promise.race([
      answer,
      new Promise<never>((_resolve, reject) =>
        setTimeout(() => reject(new Error('no answer while the body was still being sent')), 3_000),
      ),
    ]);

  it('are not read before the gate: an unauthenticated 2 MiB body is answered 401 while still being sent', async () => {
    const { base } = await start({ management: { token: TOKEN } });
    // The answer arrives while most of the body is still unsent, so the server did not wait for it.
    const declared = await beforeTheBody(
      rawRequest(`${base}/api/cache/flush`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(twoMiB) },
        body: part,
        end: false,
      }),
    );
    expect(declared.status).toBe(401);
    expect(codeOf(declared.text)).toBe('ADMIN_TOKEN_REQUIRED');
    const chunked = await beforeTheBody(
      rawRequest(`${base}/api/ops/7/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: part,
        end: false,
      }),
    );
    expect(chunked.status).toBe(401);
    // Matched as Express routes it: letter case and a trailing slash do not change the order.
    const variant = await beforeTheBody(
      rawRequest(`${base}/API/Cache/Flush/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(twoMiB) },
        body: part,
        end: false,
      }),
    );
    expect(variant.status).toBe(401);
  });

  it('are read once the gate passes: parsed for the handler, and over the limit 413', async () => {
    const { base } = await start({ management: { token: TOKEN } });
    const authorization = `Bearer ${TOKEN}`;
    const echoed = await rawRequest(`${base}/api/ops/7/echo`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(echoed.status).toBe(200);
    expect(JSON.parse(echoed.text)).toEqual({ id: '7', got: { a: 1 } });
    // body-parser reads a refused body to its end before answering, so this one is sent whole.
    const large = await rawRequest(`${base}/api/ops/7/echo`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: Buffer.alloc(twoMiB, ' '),
    });
    expect(large.status).toBe(413);
    expect(codeOf(large.text)).toBe('REQUEST_BODY_TOO_LARGE');
    const malformed = await rawRequest(`${base}/api/ops/7/echo`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(codeOf(malformed.text)).toBe('REQUEST_MALFORMED_JSON');
    // Public routes read their bodies as before.
    const open = await rawRequest(`${base}/api/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"b":2}',
    });
    expect(JSON.parse(open.text)).toEqual({ got: { b: 2 } });
  });

  it('are not read before an installed guard refuses either', async () => {
    const { base, app } = await start();
    app.context.setAdminGuard({
      name: 'header',
      middleware: (req, _res, next) =>
        next(
          req.headers['x-ops'] === 'yes'
            ? undefined
            : new HttpError(401, 'T_UNAUTHENTICATED', 'Say x-ops: yes.'),
        ),
    });
    const refused = await beforeTheBody(
      rawRequest(`${base}/api/ops/7/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(twoMiB) },
        body: part,
        end: false,
      }),
    );
    expect(refused.status).toBe(401);
    expect(codeOf(refused.text)).toBe('T_UNAUTHENTICATED');
    const passed = await rawRequest(`${base}/api/ops/7/echo`, {
      method: 'POST',
      headers: { 'x-ops': 'yes', 'content-type': 'application/json' },
      body: '[1,2]',
    });
    expect(JSON.parse(passed.text)).toEqual({ id: '7', got: [1, 2] });
  });
});
