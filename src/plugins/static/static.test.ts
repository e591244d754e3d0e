import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, definePlugin, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { createStaticPlugin, type StaticPluginOptions } from './index.js';
import { request, tempDir, writeTree } from './test-support/fixtures.js';

const INDEX = '<!doctype html><title>home</title>';
const APP_JS = `console.log(${JSON.stringify('x'.repeat(4000))});`;
const BIG = 'abcdefghij'.repeat(100);

let site: { dir: string; cleanup: () => Promise<void> };
let root: string;
beforeAll(async () => {
  site = await tempDir();
  root = path.join(site.dir, 'site');
  await writeTree(
    root,
    {
      'index.html': INDEX,
      'assets/app-B2x_k9Qa.js': APP_JS,
      'assets/style.css': 'body{}',
      'big.txt': BIG,
      'docs/index.html': '<title>docs</title>',
    },
    ['assets/app-B2x_k9Qa.js'],
  );
});
afterAll(() => site.cleanup());

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

async function start(options: Partial<StaticPluginOptions> = {}): Promise<string> {
  const hello = definePlugin({
    name: 'hello',
    routes: [
      { method: 'get', path: '/hello', handler: (_req, res) => void res.json({ hello: 'world' }) },
    ],
  });
  const app = createApp({
    name: 'static',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    // The static plugin is listed first on purpose: it must still not shadow the hello route.
    plugins: [createStaticPlugin({ root, spa: true, ...options }), hello],
  });
  apps.push(app);
  await app.start();
  return baseUrl(app);
}

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('static plugin: SPA fallback', () => {
  it('answers index.html only for GET/HEAD of extension-less paths that accept HTML', async () => {
    const url = await start();
    const route = await request(url, '/users/42', { headers: html });
    expect(route.status).toBe(200);
    expect(route.body.toString()).toBe(INDEX);
    expect(route.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(route.headers['cache-control']).toBe('no-cache');

    const head = await request(url, '/users/42', { method: 'HEAD', headers: html });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);

    const missingAsset = await request(url, '/assets/missing.js', { headers: html });
    expect(missingAsset.status).toBe(404);
    expect(missingAsset.headers['content-type']).toBe('application/problem+json');
    expect((await request(url, '/users/42', { method: 'POST', headers: html })).status).toBe(404);
    expect(
      (await request(url, '/users/42', { headers: { accept: 'application/json' } })).status,
    ).toBe(404);
    expect((await request(url, '/users/42', { headers: { accept: '*/*' } })).status).toBe(404);
    expect((await request(url, '/users/42', { headers: { accept: 'text/html;q=0' } })).status).toBe(
      404,
    );
    expect((await request(url, '/api/unknown', { headers: html })).status).toBe(404);
  });

  it('never shadows another plugin’s route', async () => {
    const url = await start();
    const res = await request(url, '/hello', { headers: html });
    expect(JSON.parse(res.body.toString())).toEqual({ hello: 'world' });
  });

  it('serves a folder’s index, redirecting to the slash form first', async () => {
    const url = await start();
    const bare = await request(url, '/docs?x=1', { headers: html });
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/docs/?x=1');
    const slash = await request(url, '/docs/', { headers: html });
    expect(slash.body.toString()).toBe('<title>docs</title>');
  });

  it('serves under a mount path and nothing outside it', async () => {
    const url = await start({ mountPath: '/app' });
    expect((await request(url, '/app/', { headers: html })).body.toString()).toBe(INDEX);
    expect((await request(url, '/app/users/1', { headers: html })).body.toString()).toBe(INDEX);
    expect((await request(url, '/app/assets/style.css')).body.toString()).toBe('body{}');
    expect((await request(url, '/users/1', { headers: html })).status).toBe(404);
  });
});

describe('static plugin: several in one app', () => {
  it('serves each under its own name; the first to start provides the static service and the releases API', async () => {
    const app = createApp({
      name: 'sites',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [
        createStaticPlugin({ name: 'static:/a', root, mountPath: '/a' }),
        createStaticPlugin({ name: 'static:/b', root, mountPath: '/b' }),
      ],
    });
    apps.push(app);
    await app.start();
    const url = baseUrl(app);
    expect((await request(url, '/a/assets/style.css')).body.toString()).toBe('body{}');
    expect((await request(url, '/b/assets/style.css')).body.toString()).toBe('body{}');
    expect(app.context.services.list()).toContainEqual({ key: 'static', provider: 'static:/a' });
    expect(
      app.context
        .routes()
        .filter((route) => route.path === '/api/static/releases')
        .map((route) => route.plugin),
    ).toEqual(['static:/a']);
    expect(app.context.plugins().map((plugin) => plugin.name)).toEqual(['static:/a', 'static:/b']);
  });
});

describe('static plugin: caching and encodings', () => {
  it('marks hashed assets immutable, revalidates HTML and uses maxAge for the rest', async () => {
    const url = await start({ cache: { maxAge: 60_000 } });
    expect((await request(url, '/assets/app-B2x_k9Qa.js')).headers['cache-control']).toBe(
      'public, max-age=31536000, immutable',
    );
    expect((await request(url, '/index.html')).headers['cache-control']).toBe('no-cache');
    expect((await request(url, '/', { headers: html })).headers['cache-control']).toBe('no-cache');
    expect((await request(url, '/assets/style.css')).headers['cache-control']).toBe(
      'public, max-age=60',
    );
  });

  it('takes maxAge as a duration string, and names the option for one that is not', async () => {
    const url = await start({ cache: { maxAge: '1d' } });
    expect((await request(url, '/assets/style.css')).headers['cache-control']).toBe(
      'public, max-age=86400',
    );
    expect(() =>
      createApp({
        name: 'bad',
        logger: { level: 'silent' },
        plugins: [createStaticPlugin({ root, cache: { maxAge: 'a day' as never } })],
      }),
    ).toThrow(/plugins\.static\.cache\.maxAge: expected a duration like "1h"/);
  });

  it('chooses the precompressed sibling by Accept-Encoding, keeping the original content type', async () => {
    const url = await start();
    const asset = '/assets/app-B2x_k9Qa.js';
    const plain = await request(url, asset);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(APP_JS);
    const type = plain.headers['content-type'];
    expect(type).toBe('text/javascript; charset=utf-8');

    const br = await request(url, asset, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe(type);
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(brotliDecompressSync(br.body).toString()).toBe(APP_JS);

    const gzip = await request(url, asset, {
      headers: { 'accept-encoding': 'br;q=0.5, gzip;q=0.9' },
    });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).toString()).toBe(APP_JS);

    expect(
      (await request(url, asset, { headers: { 'accept-encoding': 'br;q=0, gzip' } })).headers[
        'content-encoding'
      ],
    ).toBe('gzip');
    expect(
      (await request(url, asset, { headers: { 'accept-encoding': 'gzip;q=0.5, identity' } }))
        .headers['content-encoding'],
    ).toBeUndefined();
    expect(
      (await request(url, asset, { headers: { 'accept-encoding': '*' } })).headers[
        'content-encoding'
      ],
    ).toBe('br');
    // Each representation has its own validator.
    expect(br.headers.etag).not.toBe(plain.headers.etag);
    expect(gzip.headers.etag).not.toBe(br.headers.etag);
  });

  it('honours the gzip/brotli switches', async () => {
    const url = await start({ brotli: false });
    const res = await request(url, '/assets/app-B2x_k9Qa.js', {
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(res.headers['content-encoding']).toBe('gzip');
  });

  it('answers conditional requests with 304 and ranges with 206, for variants too', async () => {
    const url = await start();
    const first = await request(url, '/big.txt');
    expect(first.headers.etag).toBeTruthy();
    expect(first.headers['last-modified']).toBeTruthy();
    const again = await request(url, '/big.txt', {
      headers: { 'if-none-match': String(first.headers.etag) },
    });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const since = await request(url, '/big.txt', {
      headers: { 'if-modified-since': String(first.headers['last-modified']) },
    });
    expect(since.status).toBe(304);

    const range = await request(url, '/big.txt', { headers: { range: 'bytes=10-19' } });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 10-19/${BIG.length}`);
    expect(range.body.toString()).toBe(BIG.slice(10, 20));
    const outside = await request(url, '/big.txt', { headers: { range: 'bytes=5000-6000' } });
    expect(outside.status).toBe(416);
    expect(outside.headers['content-encoding']).toBeUndefined();

    const asset = '/assets/app-B2x_k9Qa.js';
    const br = await request(url, asset, { headers: { 'accept-encoding': 'br' } });
    const notModified = await request(url, asset, {
      headers: { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.vary).toMatch(/accept-encoding/i);
    const part = await request(url, asset, {
      headers: { 'accept-encoding': 'br', range: 'bytes=0-9' },
    });
    expect(part.status).toBe(206);
    expect(part.headers['content-encoding']).toBe('br');
    expect(part.body.equals(br.body.subarray(0, 10))).toBe(true);
  });
});
