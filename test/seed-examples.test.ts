import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createApp,
  type App,
  type NavigationItem,
  type ServerPlugin,
  type UINavigationItem,
  type UIPage,
} from '../src/index.js';
import {
  createCachePlugin,
  createDatabasePlugin,
  createHealthPlugin,
  createRoutingPlugin,
  createStaticPlugin,
} from '../src/plugins/index.js';
import { baseUrl, json, rawRequest } from './support/http.js';
import { SERVICES, serviceAvailable } from './support/services.js';

/**
 * The configuration examples of the product's vision document ("the seed"), written exactly as
 * the document writes them, run against the public exports. Only values that must point at the
 * servers of this machine differ: DATABASE_URL and REDIS_URL are set to them (the examples read
 * the variables), and the proxy target is a live upstream. Relative paths (`./migrations`,
 * `./dist-ui`) are relative to a temporary working directory holding those folders.
 */

const [hasPostgres, hasRedis] = await Promise.all([
  serviceAvailable('postgres'),
  serviceAvailable('redis'),
]);

const HASHED_ASSET = 'assets/app-B2x9k_Qa.js';
const INDEX_HTML = '<!doctype html><title>seed</title><div id="root"></div>';

let workDir: string;
const originalCwd = process.cwd();
const savedEnv = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL };

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'qwickapps-seed-'));
  await mkdir(path.join(workDir, 'migrations'));
  await writeFile(
    path.join(workDir, 'migrations', '0001_notes.sql'),
    "CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL);\n--> statement-breakpoint\nINSERT INTO notes VALUES (1, 'from the seed');\n",
  );
  const files: Record<string, string> = {
    'index.html': INDEX_HTML,
    [HASHED_ASSET]: 'console.log("seed");'.repeat(50),
    'robots.txt': 'User-agent: *\n',
  };
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(workDir, 'dist-ui', name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  // Precompressed at build time, as the static plugin expects.
  const asset = path.join(workDir, 'dist-ui', HASHED_ASSET);
  await writeFile(`${asset}.br`, brotliCompressSync(files[HASHED_ASSET]));
  await writeFile(`${asset}.gz`, gzipSync(files[HASHED_ASSET]));
  process.chdir(workDir);
});

afterAll(async () => {
  process.chdir(originalCwd);
  await rm(workDir, { recursive: true, force: true });
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

/** Starts the example's plugin in an app on a free port, with the health report to read checks from. */
async function start(...plugins: ServerPlugin[]): Promise<{ app: App; url: string }> {
  const app = createApp({
    name: 'seed',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins: [createHealthPlugin(), ...plugins],
  });
  apps.push(app);
  await app.start();
  return { app, url: baseUrl(app) };
}

async function checkNames(url: string): Promise<string[]> {
  const report = await json(fetch(`${url}/api/health`));
  return report.checks.map(
    (check: { name: string; status: string }) => `${check.name}:${check.status}`,
  );
}

describe.skipIf(!hasPostgres)('seed: 1. Database Plugin', () => {
  const schema = `seed_${randomBytes(5).toString('hex')}`;

  async function admin(sql: string): Promise<void> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: SERVICES.postgres.url });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  }

  beforeAll(async () => {
    // The example names no schema: its own schema on the shared server keeps runs apart.
    await admin(`CREATE SCHEMA ${schema}`);
    const url = new URL(SERVICES.postgres.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    process.env.DATABASE_URL = url.toString();
  });
  afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

  it('runs as written: pooled PostgreSQL, ./migrations applied, a check in /api/health', async () => {
    const { app, url } = await start(
      createDatabasePlugin({
        provider: 'postgres', // or 'mysql', 'sqlite'
        url: process.env.DATABASE_URL,
        pool: { min: 2, max: 10 },
        migrations: './migrations',
        healthCheck: true, // Contribute to /api/health
      }),
    );
    const info = await json(fetch(`${url}/api/database`));
    expect(info).toMatchObject({ provider: 'postgres', dialect: 'postgresql', pool: { max: 10 } });
    expect(info.migrations).toEqual([
      expect.objectContaining({ plugin: 'app', name: '0001_notes' }),
    ]);
    const db = app.context.services.get('database');
    if (!db.is('postgresql')) throw new Error(`expected postgresql, got ${db.dialect}`);
    const { rows } = await db.drizzle.execute<{ body: string }>('SELECT body FROM notes');
    expect(rows).toEqual([{ body: 'from the seed' }]);
    expect(await checkNames(url)).toEqual(expect.arrayContaining(['database:healthy']));
  });

  it('healthCheck: false contributes no check', async () => {
    const { url } = await start(
      createDatabasePlugin({
        provider: 'postgres',
        url: process.env.DATABASE_URL,
        healthCheck: false,
      }),
    );
    expect((await checkNames(url)).filter((name) => name.startsWith('database'))).toEqual([]);
  });
});

describe.skipIf(!hasRedis)('seed: 3. Cache Plugin', () => {
  beforeAll(() => {
    process.env.REDIS_URL = SERVICES.redis.url;
  });

  it('runs as written: Redis under namespace "app", entries kept for an hour, a check in /api/health', async () => {
    const { app, url } = await start(
      createCachePlugin({
        provider: 'redis', // or 'memory', 'sqlite'
        url: process.env.REDIS_URL,
        namespace: 'app',
        ttl: 3600, // Default TTL
        healthCheck: true,
      }),
    );
    const cache = app.context.services.get('cache');
    const key = `seed-example:${randomUUID()}`;
    await cache.set(key, { hello: 'seed' });
    try {
      expect(await cache.get(key)).toEqual({ hello: 'seed' });
      const { createClient } = await import('@keyv/redis');
      const redis = createClient({ url: SERVICES.redis.url });
      await redis.connect();
      try {
        // The example's 3600 is an hour, as Redis's EXPIRE and HTTP's max-age read a number.
        const ttl = await redis.pTTL(`app::${key}`);
        expect(ttl).toBeGreaterThan(3_590_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      } finally {
        await redis.quit();
      }
      expect(await checkNames(url)).toEqual(expect.arrayContaining(['cache:healthy']));
    } finally {
      await cache.delete(key);
    }
  });
});

describe('seed: 4. Routing Plugin', () => {
  let upstream: http.Server;
  let upstreamUrl: string;
  const seen: string[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      seen.push(req.url!);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'backend', url: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  /** What answers the rewritten path: the example only rewrites, the app owns `/new-path`. */
  const newPath: ServerPlugin = {
    name: 'new-path',
    routes: [
      {
        method: 'get',
        path: '/new-path',
        handler: (req, res) => void res.json({ page: 'new', url: req.url }),
      },
    ],
  };

  it('runs as written: proxy, rewrite, static files with SPA fallback, CORS for the listed origin', async () => {
    const { url } = await start(
      createRoutingPlugin({
        routes: [
          // Proxy API requests to backend service
          { match: '/api/v1/*', target: upstreamUrl }, // seed: 'http://localhost:3100'

          // URL rewriting
          { match: '/old-path', rewrite: '/new-path' },

          // Static files with SPA fallback
          { match: '/*', static: './dist-ui', spa: true },
        ],
        cors: {
          origin: ['https://qwickforge.com'],
          credentials: true,
        },
      }),
      newPath,
    );

    const proxied = await fetch(`${url}/api/v1/users?page=2`, {
      headers: { origin: 'https://qwickforge.com' },
    });
    expect(await proxied.json()).toEqual({ service: 'backend', url: '/api/v1/users?page=2' });
    expect(proxied.headers.get('access-control-allow-origin')).toBe('https://qwickforge.com');
    expect(proxied.headers.get('access-control-allow-credentials')).toBe('true');
    expect(seen).toContain('/api/v1/users?page=2');

    expect(await json(fetch(`${url}/old-path`))).toEqual({ page: 'new', url: '/new-path' });

    const page = await fetch(`${url}/dashboard/settings`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(INDEX_HTML);

    const preflight = await fetch(`${url}/api/v1/users`, {
      method: 'OPTIONS',
      headers: { origin: 'https://qwickforge.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://qwickforge.com');
    const foreign = await fetch(`${url}/api/v1/users`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('seed: 6. Static Plugin', () => {
  it('runs as written: SPA fallback, a day for plain files, immutable hashed assets, brotli and gzip', async () => {
    const { url } = await start(
      createStaticPlugin({
        root: './dist-ui',
        spa: true, // Fallback to index.html for client-side routing
        cache: {
          maxAge: '1d',
          immutable: true, // For hashed assets
        },
        gzip: true,
        brotli: true,
      }),
    );
    const route = await rawRequest(`${url}/projects/42`, { headers: { accept: 'text/html' } });
    expect(route.status).toBe(200);
    expect(route.text).toBe(INDEX_HTML);
    expect(route.headers['cache-control']).toBe('no-cache');

    const plain = await rawRequest(`${url}/robots.txt`);
    expect(plain.status).toBe(200);
    expect(plain.headers['cache-control']).toBe('public, max-age=86400');

    const brotli = await rawRequest(`${url}/${HASHED_ASSET}`, {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotli.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const gzip = await rawRequest(`${url}/${HASHED_ASSET}`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gzip.headers['content-encoding']).toBe('gzip');
  });
});

describe('seed: Plugin Interface', () => {
  it('names the navigation item type NavigationItem, the same type as UINavigationItem', async () => {
    const navigation: NavigationItem[] = [{ label: 'Notes', route: '/notes', icon: 'file-text' }];
    const same: UINavigationItem[] = navigation;
    const pages: UIPage[] = [{ id: 'notes', title: 'Notes', route: '/notes', views: [] }];
    const plugin: ServerPlugin = {
      name: 'notes',
      order: 50,
      ui: {
        pages,
        navigation: same,
      },
    };
    const { app } = await start(plugin);
    expect(app.context.plugins().find((status) => status.name === 'notes')?.state).toBe('ready');
  });
});
