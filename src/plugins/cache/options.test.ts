import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createApp, PluginLifecycleError, type App } from '../../index.js';
import { captureLogs } from '../../../test/support/http.js';
import { SERVICES, serviceAvailable } from '../../../test/support/services.js';
import { cacheOptionsSchema } from './options.js';
import { createCachePlugin, type CacheOptions } from './index.js';

const hasRedis = await serviceAvailable('redis');
const apps: App[] = [];
afterEach(async () => {
  delete process.env.REDIS_URL;
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

function build(options: CacheOptions, logs = captureLogs()): App {
  const app = createApp({
    name: 'cache-config',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'info', destination: logs.stream },
    shutdown: { signals: false },
    plugins: [createCachePlugin(options)],
  });
  apps.push(app);
  return app;
}

function configError(attempt: () => unknown): ConfigError {
  try {
    attempt();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('cache options', () => {
  it('defaults to a bounded memory store with a one-hour ttl and fail-open', () => {
    const config = cacheOptionsSchema.parse({});
    expect(config).toMatchObject({
      provider: 'memory',
      namespace: 'cache',
      ttl: 3_600_000,
      maxEntries: 10_000,
      failOpen: true,
    });
    expect(config.healthCheck).toEqual({ critical: false, interval: 10_000, timeout: 2_000 });
    expect(config.timeouts).toEqual({ connect: 5_000, operation: 1_000, bulk: 30_000 });
  });

  it('reads ttl as a duration or a number of seconds, and other durations as strings or milliseconds', () => {
    expect(cacheOptionsSchema.parse({ ttl: 3600 }).ttl).toBe(3_600_000);
    expect(cacheOptionsSchema.parse({ ttl: '15m' }).ttl).toBe(900_000);
    expect(cacheOptionsSchema.parse({ ttl: '30d' }).ttl).toBe(2_592_000_000);
    expect(cacheOptionsSchema.parse({ ttl: 0 }).ttl).toBe(0);
    const config = cacheOptionsSchema.parse({
      timeouts: { operation: '1s', connect: 250 },
      healthCheck: { interval: '30s' },
      sweepInterval: '5m',
    });
    expect(config.timeouts).toMatchObject({ operation: 1_000, connect: 250 });
    expect(config.healthCheck).toMatchObject({ interval: 30_000, timeout: 2_000 });
    expect(config.sweepInterval).toBe(300_000);
  });

  it('refuses a ttl that is not a duration, naming the option and the forms it takes', () => {
    const error = configError(() =>
      build({ ttl: '1 hour' as never, timeouts: { connect: '30d' } }),
    );
    expect(error.issues.map((issue) => issue.name)).toEqual([
      'plugins.cache.ttl',
      'plugins.cache.timeouts.connect',
    ]);
    expect(error.issues[0].expected).toMatch(
      /"1h", "15m", "30s", "500ms" or "1d", or a number of seconds/,
    );
    expect(error.issues[1].expected).toMatch(/at most 24\.8d/);
  });

  it('infers redis from a redis:// or rediss:// url, and ignores the url for memory and sqlite', () => {
    expect(cacheOptionsSchema.parse({ url: 'rediss://cache.internal:6380' }).provider).toBe(
      'redis',
    );
    expect(cacheOptionsSchema.parse({ provider: 'memory', url: 'not a url' }).provider).toBe(
      'memory',
    );
    expect(cacheOptionsSchema.parse({ provider: 'sqlite', url: 'redis://x' }).provider).toBe(
      'sqlite',
    );
  });

  it('reports every bad option at once, naming each one', () => {
    const error = configError(() =>
      build({
        provider: 'mongo' as never,
        namespace: 'bad:name',
        ttl: -1,
        maxEntries: 0,
        timeouts: { operation: 0 },
      }),
    );
    const names = error.issues.map((issue) => issue.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'plugins.cache.provider',
        'plugins.cache.namespace',
        'plugins.cache.ttl',
        'plugins.cache.maxEntries',
        'plugins.cache.timeouts.operation',
      ]),
    );
  });

  it('names REDIS_URL when the variable is not a Redis URL, masking its password', () => {
    process.env.REDIS_URL = 'http://user:hunter2@cache:6379';
    const error = configError(() => build({}));
    expect(error.issues.map((issue) => issue.name)).toEqual(['REDIS_URL']);
    expect(error.message).toContain('redis://127.0.0.1:6379');
    expect(error.message).not.toContain('hunter2');
  });

  it.skipIf(!hasRedis)('switches to Redis when REDIS_URL is set, with no code change', async () => {
    process.env.REDIS_URL = SERVICES.redis.url;
    const app = build({ namespace: `cfg-${process.pid}` });
    await app.start();
    expect(app.context.services.get('cache').provider).toBe('redis');
  });

  it('fails start-up naming host and port when Redis is unreachable and failOpen is false', async () => {
    const port = await closedPort();
    const app = build({
      url: `redis://127.0.0.1:${port}`,
      failOpen: false,
      timeouts: { connect: 300 },
    });
    const error = await app.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginLifecycleError);
    expect((error as Error).message).toContain(`Redis at 127.0.0.1:${port} is not reachable`);
  });

  it('starts degraded when Redis is unreachable and failOpen is true, serving misses', async () => {
    const port = await closedPort();
    const logs = captureLogs();
    const app = build({ url: `redis://127.0.0.1:${port}`, timeouts: { connect: 300 } }, logs);
    await app.start();
    const cache = app.context.services.get('cache');
    expect(cache.isAvailable()).toBe(false);
    expect(await cache.get('anything')).toBeUndefined();
    await cache.set('anything', 1);
    const stats = await cache.stats();
    expect(stats).toMatchObject({ available: false, errors: 2, misses: 1, entries: null });
    const health = await app.context.health.runNow('cache');
    expect(health?.status).toBe('degraded');
    expect(app.context.health.summary().status).toBe('degraded');
    expect(app.context.isReady()).toBe(true);
    expect(
      logs.lines.some(
        (line) =>
          line.msg === 'redis not reachable at start-up; the cache serves misses until it connects',
      ),
    ).toBe(true);
    // At most one line per errorLogInterval for failed operations.
    expect(
      logs.lines.filter((line) => line.msg === 'cache operation failed; served as a miss'),
    ).toHaveLength(1);
  });
});
