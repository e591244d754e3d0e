import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import {
  announceUpload,
  filesUnder,
  putArchive,
  sha256,
  streamUpload,
  tarballOf,
} from '../../../test/support/release-upload.js';
import { HOSTILE_ARCHIVES, rawTarball } from '../../../test/support/tarball.js';
import { createStaticPlugin } from './index.js';
import { tempDir, writeTree } from './test-support/fixtures.js';

const MAX_BYTES = 64 * 1024;

let site: { dir: string; cleanup: () => Promise<void> };
let root: string;
const apps: App[] = [];

beforeEach(async () => {
  site = await tempDir();
  root = path.join(site.dir, 'releases');
  // A release put there by hand: served, activated, never pruned.
  await writeTree(root, { 'v1/index.html': '<title>v1</title>' });
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await site.cleanup();
});

async function start(): Promise<string> {
  const app = createApp({
    name: 'frontend',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [
      createStaticPlugin({
        root,
        spa: true,
        releases: true,
        release: 'v1',
        uploads: { maxBytes: MAX_BYTES, keep: 2 },
      }),
    ],
  });
  apps.push(app);
  await app.start();
  return baseUrl(app);
}

/** A built frontend (`index.html`, a hashed asset) packed as the CLI packs it. */
async function build(version: string): Promise<Buffer> {
  const dir = path.join(site.dir, 'builds', version);
  await writeTree(dir, {
    'index.html': `<title>${version}</title>`,
    [`assets/app-${version}Ab12345.js`]: `console.log(${JSON.stringify(version)})`,
  });
  return tarballOf(dir);
}

const page = (url: string) =>
  fetch(`${url}/some/route`, { headers: { accept: 'text/html' } }).then((res) => res.text());
const post = (url: string, pathname: string) =>
  fetch(`${url}${pathname}`, { method: 'POST' }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
  }));

/** The releases folder's own entries: the versions, the markers and the store's dot-folders. */
async function topOfRoot(): Promise<string[]> {
  return (await readdir(root)).sort();
}

describe('static plugin: uploaded releases', () => {
  it('uploads, activates and rolls back, each switch served at once and kept across a restart', async () => {
    const url = await start();
    const v2 = await build('v2');
    const stored = await putArchive(`${url}/api/static/releases/v2`, v2);
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ version: 'v2', sha256: sha256(v2), size: v2.length });
    // Stored, not yet served.
    expect(await page(url)).toBe('<title>v1</title>');
    expect(await post(url, '/api/static/releases/v2/activate')).toEqual({
      status: 200,
      body: { active: 'v2', previous: 'v1' },
    });
    expect(await page(url)).toBe('<title>v2</title>');
    const asset = await fetch(`${url}/assets/app-v2Ab12345.js`);
    expect(await asset.text()).toBe('console.log("v2")');
    expect(asset.headers.get('cache-control')).toContain('immutable');

    const rolledBack = await post(url, '/api/static/releases/rollback');
    expect(rolledBack).toEqual({ status: 200, body: { active: 'v1', previous: 'v2' } });
    expect(await page(url)).toBe('<title>v1</title>');
    // A rollback of the rollback goes forward again.
    expect((await post(url, '/api/static/releases/rollback')).body).toEqual({
      active: 'v2',
      previous: 'v1',
    });

    const listed = (await (await fetch(`${url}/api/static/releases`)).json()) as {
      active: string;
      releases: Record<string, unknown>[];
    };
    expect(listed.active).toBe('v2');
    expect(listed.releases).toEqual([
      expect.objectContaining({ version: 'v1', active: false, previous: true }),
      expect.objectContaining({ version: 'v2', active: true, sha256: sha256(v2), size: v2.length }),
    ]);
    expect(listed.releases[0]).not.toHaveProperty('sha256');

    await apps.pop()!.stop();
    const again = await start();
    expect(await page(again)).toBe('<title>v2</title>');
    expect((await post(again, '/api/static/releases/rollback')).body).toEqual({
      active: 'v1',
      previous: 'v2',
    });
  });

  it('refuses a rollback with nothing to go back to', async () => {
    const url = await start();
    const refused = await post(url, '/api/static/releases/rollback');
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('STATIC_NO_PREVIOUS');
  });

  it('refuses a checksum mismatch, an upload too big (before storing it) and a name that is no name', async () => {
    const url = await start();
    const v2 = await build('v2');
    const mismatch = await putArchive(`${url}/api/static/releases/v2`, v2, {
      checksum: sha256(Buffer.from('something else')),
    });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.code).toBe('STATIC_RELEASE_CHECKSUM_MISMATCH');
    const announced = await announceUpload(`${url}/api/static/releases/v2`, MAX_BYTES + 1);
    expect(announced.status).toBe(413);
    expect(JSON.parse(announced.body).code).toBe('STATIC_RELEASE_TOO_LARGE');
    const total = 64 * 1024 * 1024;
    const streamed = await streamUpload(`${url}/api/static/releases/v2`, total);
    expect(streamed.status).toBe(413);
    expect(streamed.sent).toBeLessThan(total);
    const invalid = await putArchive(`${url}/api/static/releases/.hidden`, v2);
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('STATIC_RELEASE_INVALID');
    const same = await putArchive(`${url}/api/static/releases/v1`, v2);
    expect(same.status).toBe(409);
    expect(same.body.code).toBe('STATIC_RELEASE_EXISTS');
    expect(await topOfRoot()).toEqual(['.incoming', '.meta', 'v1']);
    expect(await filesUnder(path.join(root, '.incoming'))).toEqual([]);
  });

  for (const hostile of HOSTILE_ARCHIVES) {
    it(`refuses an archive with ${hostile.name}, leaving nothing behind`, async () => {
      const url = await start();
      const refused = await putArchive(
        `${url}/api/static/releases/v2`,
        rawTarball(hostile.entries),
      );
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({
        code: 'STATIC_RELEASE_UNSAFE_ENTRY',
        entry: hostile.names,
      });
      expect(await topOfRoot()).toEqual(['.incoming', '.meta', 'v1']);
      expect(await filesUnder(path.join(root, '.incoming'))).toEqual([]);
      expect(existsSync(path.join(site.dir, 'escaped.txt'))).toBe(false);
      expect(existsSync(path.join(root, 'escaped.txt'))).toBe(false);
    });
  }

  it('keeps the newest uploads.keep uploads, the active release, the rollback target and hand-made folders', async () => {
    const url = await start();
    for (const version of ['v2', 'v3']) {
      expect(
        (await putArchive(`${url}/api/static/releases/${version}`, await build(version))).status,
      ).toBe(201);
    }
    // Activating v3, then v2: v2 is active and v3 the rollback target.
    await post(url, '/api/static/releases/v3/activate');
    await post(url, '/api/static/releases/v2/activate');
    const v4 = await putArchive(`${url}/api/static/releases/v4`, await build('v4'));
    // keep 2 (v4, v3): nothing else to prune, v2 is active.
    expect(v4.body.pruned).toEqual([]);
    const v5 = await putArchive(`${url}/api/static/releases/v5`, await build('v5'));
    // Newest first: v5, v4 | v3 (rollback target), v2 (active): kept. v1 was never uploaded.
    expect(v5.body.pruned).toEqual([]);
    const v6 = await putArchive(`${url}/api/static/releases/v6`, await build('v6'));
    expect(v6.body.pruned).toEqual(['v4']);
    expect(await topOfRoot()).toEqual([
      '.incoming',
      '.meta',
      'current',
      'previous',
      'v1',
      'v2',
      'v3',
      'v5',
      'v6',
    ]);
    expect(await readFile(path.join(root, 'current'), 'utf8')).toBe('v2\n');
  });
});
