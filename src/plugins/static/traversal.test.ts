import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { createStaticPlugin } from './index.js';
import { rawRequest, tempDir, writeTree } from './test-support/fixtures.js';

const SECRET = 'TOP-SECRET-OUTSIDE-ROOT';
const DOTFILE = 'DOTFILE-SECRET';

let site: { dir: string; cleanup: () => Promise<void> };
let app: App;
let url: string;

beforeAll(async () => {
  site = await tempDir();
  // The secret sits beside the served folder, one `..` away.
  await writeTree(site.dir, {
    'outside.txt': SECRET,
    'site/index.html': '<title>home</title>',
    'site/.env': DOTFILE,
    'site/.git/config': DOTFILE,
    'site/assets/app.js': 'ok',
  });
  app = createApp({
    name: 'static',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    // SPA on and Accept: text/html sent: a sloppy check would answer index.html with 200.
    plugins: [createStaticPlugin({ root: path.join(site.dir, 'site'), spa: true })],
  });
  await app.start();
  url = baseUrl(app);
});
afterAll(async () => {
  await app?.stop();
  await site.cleanup();
});

const html = { Accept: 'text/html' };

describe('static plugin: refused paths (raw sockets, paths exactly as sent)', () => {
  it('serves a normal file over the same raw client', async () => {
    const res = await rawRequest(url, '/assets/app.js', html);
    expect(res.status).toBe(200);
    expect(res.text.endsWith('\r\n\r\nok')).toBe(true);
  });

  it.each([['/.env'], ['/.git/config'], ['/%2eenv'], ['/%2Egit/config'], ['/assets/.env']])(
    'hides dotfiles: %s -> 404',
    async (target) => {
      const res = await rawRequest(url, target, html);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(DOTFILE);
      expect(res.text).toContain('application/problem+json');
    },
  );

  it.each([
    ['/../outside.txt'],
    ['/assets/../../outside.txt'],
    ['/%2e%2e/outside.txt'],
    ['/%2E%2E/%2E%2E/outside.txt'],
    ['/assets/%2e%2e/%2e%2e/outside.txt'],
    ['/..%2foutside.txt'],
    ['/%2e%2e%2Foutside.txt'],
    ['/..%5coutside.txt'],
    ['/assets/..%5c..%5coutside.txt'],
    ['/index.html%00.js'],
    ['/assets/./app.js'],
    ['//../outside.txt'],
    ['/assets/%0d%0aSet-Cookie:x=1'],
  ])('refuses traversal and malformed paths: %s -> 400', async (target) => {
    const res = await rawRequest(url, target, html);
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(SECRET);
    expect(res.text).toContain('STATIC_PATH_INVALID');
  });

  it.each([['/%c0%ae%c0%ae/outside.txt'], ['/%e0%80%ae%e0%80%ae/outside.txt'], ['/%'], ['/%zz']])(
    'refuses malformed escapes (overlong UTF-8 dots included): %s -> 400',
    async (target) => {
      // Express refuses these while decoding the route parameter, before the handler runs.
      const res = await rawRequest(url, target, html);
      expect(res.status).toBe(400);
      expect(res.text).toContain('application/problem+json');
      expect(res.text).not.toContain(SECRET);
    },
  );

  it.each([['/..\\outside.txt'], ['/assets\\..\\..\\outside.txt']])(
    'never serves a file outside the root: %s',
    async (target) => {
      // Node's parser may refuse a raw backslash itself; either way it is a 4xx and no file.
      const res = await rawRequest(url, target, html);
      expect([400, 404]).toContain(res.status);
      expect(res.text).not.toContain(SECRET);
    },
  );
});
