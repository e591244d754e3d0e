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
import { createRateLimitPlugin, type RateLimitPluginOptions } from './index.js';

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

const hello = definePlugin({
  name: 'hello',
  routes: [
    { method: 'get', path: '/api/{*rest}', handler: (_req, res) => void res.json({ ok: true }) },
    {
      method: 'post',
      path: '/api/{*rest}',
      handler: (_req, res) => void res.json({ posted: true }),
    },
  ],
});

async function start(
  options: RateLimitPluginOptions,
  extra: ServerPlugin[] = [],
  trustProxy?: AppOptions['trustProxy'],
): Promise<string> {
  const app = createApp({
    name: 'rl',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    trustProxy,
    plugins: [createRateLimitPlugin({ store: 'memory', ...options }), hello, ...extra],
  });
  apps.push(app);
  await app.start();
  return baseUrl(app);
}

const minute = 60_000;

describe('rate-limit plugin', () => {
  it('sends RateLimit headers and answers 429 problem+json with Retry-After past the limit', async () => {
    const url = await start({ rules: [{ match: '/api/limited', windowMs: minute, limit: 2 }] });
    const first = await fetch(`${url}/api/limited`);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('2;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^limit=2, remaining=1, reset=(60|59)$/);
    expect((await fetch(`${url}/api/limited/below`)).status).toBe(200);

    const refused = await fetch(`${url}/api/limited`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit')).toMatch(/^limit=2, remaining=0, /);
    const problem = (await refused.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      status: 429,
      code: 'RATE_LIMIT_EXCEEDED',
      limit: 2,
      windowMs: minute,
      instance: '/api/limited',
    });
    expect(typeof problem.requestId).toBe('string');

    // Other paths are not limited, and carry no headers.
    const other = await fetch(`${url}/api/other`);
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit')).toBeNull();
  });

  it('cannot be dodged by case, dot segments, double slashes or escapes', async () => {
    const url = await start({ rules: [{ match: '/api/login', windowMs: minute, limit: 1 }] });
    expect((await fetch(`${url}/api/login`)).status).toBe(200);
    for (const path of ['/API/Login', '/api//login', '/api/x/../login', '/api/log%69n']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(429);
    }
  });

  it('counts only the listed methods, and applies the default to unmatched requests', async () => {
    const url = await start({
      rules: [{ match: '/api/login', methods: ['post'], windowMs: minute, limit: 1 }],
      default: { windowMs: minute, limit: 3 },
    });
    expect((await fetch(`${url}/api/login`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${url}/api/login`, { method: 'POST' })).status).toBe(429);
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await fetch(`${url}/api/login`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('ignores X-Forwarded-For by default: a client cannot reset its count by inventing addresses', async () => {
    const url = await start({ rules: [{ match: '/api', windowMs: minute, limit: 2 }] });
    const statuses = [];
    for (const ip of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) {
      statuses.push((await fetch(`${url}/api/x`, { headers: { 'x-forwarded-for': ip } })).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('honours X-Forwarded-For from a trusted proxy only', async () => {
    const url = await start(
      { rules: [{ match: '/api', windowMs: minute, limit: 1 }] },
      [],
      ['127.0.0.1'],
    );
    const from = (ip: string) =>
      fetch(`${url}/api/x`, { headers: { 'x-forwarded-for': ip } }).then((res) => res.status);
    expect(await from('1.1.1.1')).toBe(200);
    expect(await from('2.2.2.2')).toBe(200);
    expect(await from('1.1.1.1')).toBe(429);
    // A forged entry before the one the proxy appended changes nothing.
    expect(await from('9.9.9.9, 2.2.2.2')).toBe(429);
  });

  it('trusts a number of hops', async () => {
    const url = await start({ rules: [{ match: '/api', windowMs: minute, limit: 1 }] }, [], 1);
    const from = (ip: string) =>
      fetch(`${url}/api/x`, { headers: { 'x-forwarded-for': ip } }).then((res) => res.status);
    expect(await from('5.5.5.5')).toBe(200);
    expect(await from('6.6.6.6, 5.5.5.5')).toBe(429);
    expect(await from('6.6.6.6')).toBe(200);
  });

  it('applies the same counters to raw (pre-Express) handlers through the rateLimit service', async () => {
    const raw = definePlugin({
      name: 'raw',
      dependencies: ['rate-limit'],
      onInit(ctx) {
        const limiter = ctx.get('rateLimit');
        ctx.app.addRawHandler((req, res) => {
          if (!req.url?.startsWith('/raw')) return false;
          void limiter.check(req, res).then((allowed) => {
            if (allowed) res.end('raw ok');
          });
          return true;
        });
      },
    });
    const url = await start(
      { rules: [{ match: '/raw', windowMs: minute, limit: 2 }], standardHeaders: 'draft-8' },
      [raw],
    );
    const first = await fetch(`${url}/raw/a`);
    expect(await first.text()).toBe('raw ok');
    expect(first.headers.get('ratelimit')).toMatch(/^"\/raw"; r=1; t=\d+$/);
    expect(first.headers.get('ratelimit-policy')).toMatch(/^"\/raw"; q=2; w=60; pk=:/);
    expect((await fetch(`${url}/raw/b`)).status).toBe(200);
    const refused = await fetch(`${url}/raw/c`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', status: 429 });
  });

  it("takes windows as durations ('1m'), and names a window it cannot read", async () => {
    const url = await start({ rules: [{ match: '/api/limited', windowMs: '1m', limit: 2 }] });
    const first = await fetch(`${url}/api/limited`);
    expect(first.headers.get('ratelimit-policy')).toBe('2;w=60');
    const attempt = () =>
      createApp({
        name: 'rl',
        logger: { level: 'silent' },
        plugins: [createRateLimitPlugin({ default: { windowMs: '1 minute' as '1m', limit: 5 } })],
      });
    expect(attempt).toThrow(/plugins\.rate-limit\.default\.windowMs/);
  });

  it('reports every bad option at once', () => {
    const attempt = () =>
      createApp({
        name: 'rl',
        logger: { level: 'silent' },
        trustProxy: ['proxy.internal'],
        plugins: [
          createRateLimitPlugin({
            rules: [
              { match: 'api', windowMs: 0, limit: 5 },
              { match: '/a', windowMs: 1000, limit: 1 },
              { match: '/a', windowMs: 1000, limit: 2 },
              { name: 'default', match: '/d', windowMs: 1000, limit: 2 },
            ],
            default: { windowMs: 1000, limit: 10 },
            // Where the option used to live: the app's one trustProxy replaced it.
            ...({ trustProxy: 1 } as object),
            store: { redis: 'http://nope' },
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
      return [];
    })();
    expect(names).toEqual(
      expect.arrayContaining([
        'plugins.rate-limit.rules.0.match',
        'plugins.rate-limit.rules.0.windowMs',
        'plugins.rate-limit.rules.2.name',
        'plugins.rate-limit.rules.3.name',
        'trustProxy',
        'plugins.rate-limit.trustProxy',
        'plugins.rate-limit.store.redis',
      ]),
    );
  });

  it('fails start-up with the reason when the Redis store is unreachable', async () => {
    const app = createApp({
      name: 'rl',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [
        createRateLimitPlugin({
          default: { windowMs: minute, limit: 1 },
          store: { redis: 'redis://127.0.0.1:1', connectTimeout: 500 },
        }),
      ],
    });
    apps.push(app);
    await expect(app.start()).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
