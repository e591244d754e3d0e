import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  PluginLifecycleError,
  definePlugin,
  type App,
  type AppOptions,
} from '../../index.js';
import { baseUrl, json } from '../../../test/support/http.js';
import { createControlPanelPlugin, hashPassword, type ControlPanelGuard } from './index.js';
import { login, startApp, uiFixture } from './test-support/fixtures.js';

const PASSWORD = 'correct horse battery';
const ui = uiFixture();
afterAll(() => ui.remove());

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

/** A plugin with one admin read and one admin write, standing in for /api/config and cache flush. */
const management = definePlugin({
  name: 'management',
  routes: [
    {
      method: 'get',
      path: '/api/things',
      access: 'admin',
      handler: (_req, res) => void res.json({ things: 1 }),
    },
    {
      method: 'post',
      path: '/api/things/flush',
      access: 'admin',
      handler: (_req, res) => void res.json({ flushed: true }),
    },
  ],
});

async function start(
  options: Parameters<typeof createControlPanelPlugin>[0] = {},
  extra: Pick<AppOptions, 'trustProxy'> = {},
) {
  const { app, logs } = await startApp(
    [createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD, ...options }), management],
    extra,
  );
  apps.push(app);
  return { base: baseUrl(app), logs, app };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('password guard', () => {
  it('refuses a wrong password with problem+json and no Basic challenge, and accepts the right one with a strict session cookie', async () => {
    const { base } = await start();
    const wrong = await fetch(`${base}/cpanel/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'admin', password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(((await wrong.json()) as { code: string }).code).toBe('CPANEL_LOGIN_FAILED');
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const right = await fetch(`${base}/cpanel/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'admin', password: PASSWORD }),
    });
    expect(right.status).toBe(200);
    const cookie = right.headers.getSetCookie()[0];
    expect(cookie).toMatch(
      /^cpanel_session=[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    );
    expect(cookie).not.toContain('Secure');

    const anonymous = await fetch(`${base}/api/things`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate') ?? '').not.toMatch(/basic/i);
    const withCookie = await fetch(`${base}/api/things`, {
      headers: { cookie: cookie.split(';')[0] },
    });
    expect(withCookie.status).toBe(200);
  });

  it('refuses a tampered or unknown session cookie', async () => {
    const { base } = await start();
    const { cookie } = await login(base, 'admin', PASSWORD);
    const [name, value] = cookie.split('=');
    const [id, signature] = value.split('.');
    const forgedId = `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}.${signature}`;
    expect(
      (await fetch(`${base}/api/things`, { headers: { cookie: `${name}=${forgedId}` } })).status,
    ).toBe(401);
    expect(
      (
        await fetch(`${base}/api/things`, {
          headers: { cookie: `${name}=${id}.${'x'.repeat(signature.length)}` },
        })
      ).status,
    ).toBe(401);
    const malformed = await fetch(`${base}/api/things`, {
      headers: { cookie: `${name}=%E0%A4%A` },
    });
    expect(malformed.status).toBe(401);
    expect(((await malformed.json()) as { code: string }).code).toBe('CPANEL_UNAUTHENTICATED');
  });

  it('names the cookie __Host-cpanel_session with Secure over HTTPS through a trusted proxy; plain http keeps the plain name', async () => {
    const overTls = { 'x-forwarded-proto': 'https' };
    const loginWith = (base: string, headers: Record<string, string>) =>
      fetch(`${base}/cpanel/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ user: 'admin', password: PASSWORD }),
      });
    const { base, app } = await start({}, { trustProxy: ['loopback'] });
    const secure = (await loginWith(base, overTls)).headers.getSetCookie()[0];
    // __Host- needs Secure, Path=/ and no Domain, or browsers drop the cookie.
    expect(secure).toMatch(
      /^__Host-cpanel_session=[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/,
    );
    expect(secure).not.toMatch(/domain=/i);
    const hostCookie = secure.split(';')[0];
    expect(
      (await fetch(`${base}/api/things`, { headers: { cookie: hostCookie, ...overTls } })).status,
    ).toBe(200);
    // The gateway keeps both names of the guard's cookies from upstreams.
    expect(app.context.adminGuard()?.privateCookies).toEqual([
      '__Host-cpanel_session',
      'cpanel_session',
      '__Host-cpanel_device',
      'cpanel_device',
    ]);

    const plain = (await loginWith(base, {})).headers.getSetCookie()[0];
    expect(plain).toMatch(
      /^cpanel_session=[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    );
    const plainCookie = plain.split(';')[0];
    // A session made over http survives the move to HTTPS.
    expect(
      (await fetch(`${base}/api/things`, { headers: { cookie: plainCookie, ...overTls } })).status,
    ).toBe(200);

    // Logout clears both names and ends the session under each.
    const session = await json(
      fetch(`${base}/cpanel/api/session`, {
        headers: { cookie: `${hostCookie}; ${plainCookie}`, ...overTls },
      }),
    );
    const logout = await fetch(`${base}/cpanel/api/logout`, {
      method: 'POST',
      headers: {
        cookie: `${hostCookie}; ${plainCookie}`,
        'x-csrf-token': session.csrfToken,
        ...overTls,
      },
    });
    expect(logout.status).toBe(204);
    expect(logout.headers.getSetCookie()).toEqual([
      '__Host-cpanel_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
      'cpanel_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
    ]);
    for (const cookie of [hostCookie, plainCookie])
      expect((await fetch(`${base}/api/things`, { headers: { cookie, ...overTls } })).status).toBe(
        401,
      );

    // X-Forwarded-Proto from a proxy the app was not told to trust changes nothing.
    const untrusted = await start();
    expect((await loginWith(untrusted.base, overTls)).headers.getSetCookie()[0]).toMatch(
      /^cpanel_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    );
  });

  it('demands the session CSRF token on state-changing calls made with the cookie', async () => {
    const { base } = await start();
    const { cookie, csrfToken } = await login(base, 'admin', PASSWORD);
    const missing = await fetch(`${base}/api/things/flush`, {
      method: 'POST',
      headers: { cookie },
    });
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { code: string }).code).toBe('CPANEL_CSRF_INVALID');
    const wrong = await fetch(`${base}/api/things/flush`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': `${csrfToken}x` },
    });
    expect(wrong.status).toBe(403);
    const other = await login(base, 'admin', PASSWORD);
    const foreign = await fetch(`${base}/api/things/flush`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': other.csrfToken },
    });
    expect(foreign.status).toBe(403);
    const right = await fetch(`${base}/api/things/flush`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ flushed: true });
  });

  it('refuses a state-changing call from another origin even with the right CSRF token', async () => {
    const { base } = await start();
    const { cookie, csrfToken } = await login(base, 'admin', PASSWORD);
    const flush = (headers: Record<string, string>) =>
      fetch(`${base}/api/things/flush`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrfToken, ...headers },
      });
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'same-site' },
      { origin: base.replace('http:', 'https:') },
    ] as Record<string, string>[]) {
      const refused = await flush(headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(((await refused.json()) as { code: string }).code).toBe('CPANEL_CROSS_SITE');
    }
    // The panel's own page: same origin, as a browser says it.
    const own = await flush({ origin: base, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ flushed: true });
    // Reads stay open to the session whatever the origin (the browser keeps the answer from another site).
    expect(
      (
        await fetch(`${base}/api/things`, {
          headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        })
      ).status,
    ).toBe(200);
  });

  it('refuses a login from another origin, even with the right password, and sets no cookie', async () => {
    const { base } = await start();
    const attempt = (headers: Record<string, string>) =>
      fetch(`${base}/cpanel/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ user: 'admin', password: PASSWORD }),
      });
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
    ] as Record<string, string>[]) {
      const refused = await attempt(headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe('CPANEL_CROSS_SITE');
      expect(refused.headers.get('set-cookie')).toBeNull();
    }
    const own = await attempt({ origin: base, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
    expect(own.headers.get('set-cookie')).toContain('cpanel_session=');
  });

  it('accepts Basic credentials for scripts and refuses wrong ones', async () => {
    const { base } = await start({ user: 'ops' });
    expect(
      (await fetch(`${base}/api/things`, { headers: { authorization: basic('ops', PASSWORD) } }))
        .status,
    ).toBe(200);
    expect(
      (await fetch(`${base}/api/things`, { headers: { authorization: basic('admin', PASSWORD) } }))
        .status,
    ).toBe(401);
    expect(
      (
        await fetch(`${base}/api/things`, {
          headers: { authorization: basic('ops', 'wrong password') },
        })
      ).status,
    ).toBe(401);
  });

  it('limits failed logins per client: after 5 failures even the right password gets 429 with Retry-After', async () => {
    const { base, logs } = await start();
    const attempt = (password: string) =>
      fetch(`${base}/cpanel/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'admin', password }),
      });
    for (let index = 0; index < 5; index++)
      expect((await attempt(`wrong-${index}`)).status).toBe(401);
    const limited = await attempt(PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { code: string }).code).toBe('CPANEL_LOGIN_RATE_LIMITED');
    // Basic credentials share the limit, so they are no way around it.
    expect(
      (await fetch(`${base}/api/things`, { headers: { authorization: basic('admin', PASSWORD) } }))
        .status,
    ).toBe(429);
    expect(logs.filter((line) => line.msg === 'control panel login failed')).toHaveLength(5);
    expect(JSON.stringify(logs)).not.toContain(PASSWORD);
  });

  it('counts concurrent failed logins against the limit even while a slow password hash is verified', async () => {
    vi.stubEnv('ADMIN_PASSWORD_HASH', await hashPassword('hashed password 1'));
    try {
      const { base } = await start({
        password: undefined,
        loginRateLimit: { max: 3, windowMs: 60_000 },
      });
      const attempt = (index: number) =>
        fetch(`${base}/cpanel/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: 'admin', password: `wrong-${index}` }),
        });
      const statuses = (
        await Promise.all(Array.from({ length: 12 }, (_, index) => attempt(index)))
      ).map((response) => response.status);
      // Every attempt was checked by the hash only while fewer than `max` were counted.
      expect(statuses.filter((status) => status === 401)).toHaveLength(3);
      expect(statuses.filter((status) => status === 429)).toHaveLength(9);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('ends the session on logout: the same cookie is refused afterwards', async () => {
    const { base } = await start();
    const { cookie, csrfToken } = await login(base, 'admin', PASSWORD);
    expect((await fetch(`${base}/cpanel/api/session`, { headers: { cookie } })).status).toBe(200);
    const logout = await fetch(`${base}/cpanel/api/logout`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await fetch(`${base}/cpanel/api/session`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${base}/api/things`, { headers: { cookie } })).status).toBe(401);
  });

  it('answers bad login bodies with 400 problem+json', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/cpanel/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 42 }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe('CPANEL_LOGIN_INVALID');
    const malformed = await fetch(`${base}/cpanel/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(malformed.status).toBe(400);
  });

  it('accepts ADMIN_PASSWORD_HASH made by hashPassword()', async () => {
    const hash = await hashPassword('hashed password 1', { N: 1024 });
    expect(hash).toMatch(/^scrypt:1024:8:1:[\w-]+:[\w-]+$/);
    vi.stubEnv('ADMIN_PASSWORD_HASH', hash);
    try {
      const { base, logs } = await start({ password: undefined });
      expect(
        (
          await fetch(`${base}/api/things`, {
            headers: { authorization: basic('admin', 'hashed password 1') },
          })
        ).status,
      ).toBe(200);
      // Made with a lower cost than today's default: it works, and the operator is told to renew it.
      expect(
        logs.some(
          (line) => line.level === 'warn' && String(line.msg).includes('lower scrypt cost'),
        ),
      ).toBe(true);
      expect(
        (
          await fetch(`${base}/api/things`, {
            headers: { authorization: basic('admin', 'hashed password 2') },
          })
        ).status,
      ).toBe(401);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('prints a one-time password in development when none is configured, and it works', async () => {
    vi.stubEnv('ADMIN_PASSWORD', '');
    vi.stubEnv('ADMIN_PASSWORD_HASH', '');
    vi.stubEnv('NODE_ENV', 'development');
    const printed: string[] = [];
    const write = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        printed.push(String(chunk));
        return true;
      });
    try {
      const { base, logs } = await start({ password: undefined });
      const line = printed.find((text) => text.includes('one-time password'));
      expect(line).toBeDefined();
      const password = /password (\S+)\n/.exec(line!)![1];
      expect(
        logs.some(
          (entry) =>
            entry.level === 'warn' && String(entry.msg).includes('ADMIN_PASSWORD is not set'),
        ),
      ).toBe(true);
      expect(JSON.stringify(logs)).not.toContain(password);
      write.mockRestore();
      expect(
        (
          await fetch(`${base}/api/things`, {
            headers: { authorization: basic('admin', password) },
          })
        ).status,
      ).toBe(200);
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
  });

  it('refuses to start in production without a password, naming ADMIN_PASSWORD', async () => {
    vi.stubEnv('ADMIN_PASSWORD', '');
    vi.stubEnv('ADMIN_PASSWORD_HASH', '');
    vi.stubEnv('NODE_ENV', 'production');
    try {
      const failure = await start({ password: undefined }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PluginLifecycleError);
      expect((failure as Error).message).toContain('ADMIN_PASSWORD is not set');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('custom guard', () => {
  it('replaces the password guard for admin routes and the panel API; no login route is mounted', async () => {
    const guard: ControlPanelGuard = {
      name: 'header-token',
      middleware: (req, _res, next) =>
        req.headers['x-token'] === 'let-me-in'
          ? next()
          : next(Object.assign(new Error('no'), { status: 401, expose: true })),
      session: () => ({ user: 'token-user' }),
      loginUrl: '/auth/login',
    };
    const { base, app } = await start({ guard });
    expect((await fetch(`${base}/api/things`)).status).toBe(401);
    expect(
      (await fetch(`${base}/api/things`, { headers: { 'x-token': 'let-me-in' } })).status,
    ).toBe(200);
    const session = await fetch(`${base}/cpanel/api/session`, {
      headers: { 'x-token': 'let-me-in' },
    });
    expect(await session.json()).toEqual({ user: 'token-user' });
    expect(app.context.routes().some((route) => route.path === '/cpanel/api/login')).toBe(false);
    const html = await (await fetch(`${base}/cpanel/`)).text();
    expect(html).toContain('&quot;loginUrl&quot;:&quot;/auth/login&quot;');
  });

  it('fails start-up naming both guards when another plugin installs a second one', async () => {
    const sso = definePlugin({
      name: 'sso',
      onInit: (ctx) =>
        ctx.app.setAdminGuard({ name: 'sso-session', middleware: (_req, _res, next) => next() }),
    });
    for (const options of [
      {},
      { guard: { name: 'header-token', middleware: () => undefined, session: () => undefined } },
    ]) {
      const failure = await startApp([
        createControlPanelPlugin({ uiDir: ui.dir, password: PASSWORD, ...options }),
        management,
        sso,
      ]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PluginLifecycleError);
      expect((failure as PluginLifecycleError).plugin).toBe('sso');
      const cause = (failure as PluginLifecycleError).cause;
      expect(cause).toBeInstanceOf(ConfigError);
      expect((cause as ConfigError).issues[0].name).toBe('admin guard');
      const installed = 'guard' in options ? 'header-token' : 'control-panel-password';
      expect((failure as Error).message).toContain(`"sso-session" from plugin "sso"`);
      expect((failure as Error).message).toContain(
        `"${installed}" from plugin "control-panel" is already installed`,
      );
    }
  });
});

describe('start-up', () => {
  let empty: ReturnType<typeof uiFixture>;
  beforeAll(() => {
    empty = uiFixture();
  });
  afterAll(() => empty.remove());

  it('refuses a malformed ADMIN_PASSWORD_HASH at start-up, naming the variable', async () => {
    vi.stubEnv('ADMIN_PASSWORD_HASH', 'scrypt:16384:8:1:c2FsdHNhbHRzYWx0:A');
    try {
      const failure = await startApp([
        createControlPanelPlugin({ uiDir: empty.dir, password: undefined }),
      ]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConfigError);
      const issue = (failure as ConfigError).issues.find(
        (each) => each.name === 'ADMIN_PASSWORD_HASH',
      );
      expect(issue?.expected).toMatch(/key/);
      expect(issue?.received).toBe('********');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses a mount path the UI cannot be served under, naming the option', async () => {
    const failure = await startApp([
      createControlPanelPlugin({ uiDir: empty.dir, password: PASSWORD, mountPath: '/ops//panel' }),
    ]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).issues.map((issue) => issue.name)).toEqual([
      'plugins.control-panel.mountPath',
    ]);
  });

  it('fails with a clear error when the UI is not built', async () => {
    const failure = await startApp([
      createControlPanelPlugin({ uiDir: `${empty.dir}/missing`, password: PASSWORD }),
    ]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PluginLifecycleError);
    expect((failure as Error).message).toMatch(/index\.html is missing\. Run `npm run build:ui`/);
  });
});
