import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { removeTempDirs, TARGETS, type Sandbox } from '../../../test/support/databases.js';
import { baseUrl, captureLogs, waitFor } from '../../../test/support/http.js';
import { putArchive, sha256, tarballOf } from '../../../test/support/release-upload.js';
import { DatabaseReleaseStore } from '../../core/releases/db-store.js';
import { createDatabasePlugin } from '../database/index.js';
import { createStaticPlugin, type StaticPluginOptions } from './index.js';
import { tempDir, writeTree } from './test-support/fixtures.js';

afterAll(removeTempDirs);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Frontend {
  app: App;
  url: string;
  root: string;
  logs: Record<string, unknown>[];
}

/** A gateway serving the frontend from a folder of its own, on the shared database. */
async function frontend(
  sandbox: Sandbox,
  options: Partial<StaticPluginOptions> = {},
): Promise<Frontend> {
  const folder = await tempDir();
  const capture = captureLogs();
  const app = createApp({
    name: 'frontend',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'info', destination: capture.stream, stdout: false },
    shutdown: { signals: false },
    plugins: [
      createDatabasePlugin({ ...sandbox.options, logQueries: false }),
      createStaticPlugin({ root: folder.dir, spa: true, releases: true, ...options }),
    ],
  });
  cleanups.push(async () => {
    await app.stop();
    await folder.cleanup();
  });
  await app.start();
  return { app, url: baseUrl(app), root: folder.dir, logs: capture.lines };
}

async function sandboxOf(target: (typeof TARGETS)[number]): Promise<Sandbox> {
  const sandbox = await target.sandbox();
  cleanups.push(() => sandbox.cleanup());
  return sandbox;
}

/** A built frontend packed as the CLI packs it. */
async function build(version: string): Promise<Buffer> {
  const folder = await tempDir();
  cleanups.push(folder.cleanup);
  await writeTree(folder.dir, {
    'index.html': `<title>${version}</title>`,
    [`assets/app-${version}Ab12345.js`]: `console.log(${JSON.stringify(version)})`,
  });
  return tarballOf(folder.dir);
}

const upload = (through: Frontend, version: string, bytes: Buffer) =>
  putArchive(`${through.url}/api/static/releases/${version}`, bytes);
const page = (through: Frontend) =>
  fetch(`${through.url}/some/route`, { headers: { accept: 'text/html' } }).then((res) =>
    res.status === 200 ? res.text() : `status ${res.status}`,
  );
const post = (through: Frontend, pathname: string) =>
  fetch(`${through.url}/api/static/releases/${pathname}`, { method: 'POST' }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
  }));

/** Milliseconds until `through` serves `version`; fails past 1 s. */
async function servedWithin(through: Frontend, version: string, since: number): Promise<number> {
  while ((await page(through)) !== `<title>${version}</title>`) {
    if (Date.now() - since > 1_000) throw new Error(`${version} not served within 1 s`);
  }
  return Date.now() - since;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(values.length * p))];

for (const target of TARGETS.filter((entry) => ['postgres', 'mysql'].includes(entry.provider))) {
  describe.skipIf(!target.available)(`frontend releases shared through ${target.provider}`, () => {
    it('serves on B, within a second, each of 20 activations through A; a rollback through B reaches A', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox, { uploads: { keep: 3 } });
      // B keeps one upload besides the two in use.
      const b = await frontend(sandbox, { uploads: { keep: 1 } });
      expect(await page(b)).toBe('status 404');
      const builds = new Map<string, Buffer>();
      for (const version of ['v1', 'v2', 'v3']) {
        builds.set(version, await build(version));
        const stored = await upload(a, version, builds.get(version)!);
        expect(stored.status).toBe(201);
      }
      const listed = (await (await fetch(`${b.url}/api/static/releases`)).json()) as {
        releases: Record<string, unknown>[];
      };
      expect(listed.releases.map((release) => release.version).sort()).toEqual(['v1', 'v2', 'v3']);
      expect(listed.releases.find((release) => release.version === 'v2')).toMatchObject({
        sha256: sha256(builds.get('v2')!),
        size: builds.get('v2')!.length,
        active: false,
      });

      const delays: number[] = [];
      for (let round = 0; round < 20; round++) {
        const version = `v${(round % 3) + 1}`;
        const since = Date.now();
        const activated = await post(a, `${version}/activate`);
        expect(activated.status).toBe(200);
        expect(activated.body.active).toBe(version);
        // A serves it from its answer on; B within a second.
        expect(await page(a)).toBe(`<title>${version}</title>`);
        delays.push(await servedWithin(b, version, since));
      }
      console.log(
        `[${target.provider}] activation through A served by B: p50 ${percentile(delays, 0.5)} ms, max ${Math.max(...delays)} ms over ${delays.length}`,
      );
      // Round 19 activated v2, after v1.
      const since = Date.now();
      const rolledBack = await post(b, 'rollback');
      expect(rolledBack).toMatchObject({ status: 200, body: { active: 'v1', previous: 'v2' } });
      expect(await page(b)).toBe('<title>v1</title>');
      await servedWithin(a, 'v1', since);
      const onA = (await (await fetch(`${a.url}/api/static/releases`)).json()) as {
        active: string;
        releases: { version: string; active: boolean; previous: boolean }[];
      };
      expect(onA.active).toBe('v1');
      expect(onA.releases.find((release) => release.previous)?.version).toBe('v2');

      // Retention through B: v3 goes (neither active nor the rollback target), from every gateway.
      const v4 = await upload(b, 'v4', await build('v4'));
      expect(v4.body).toMatchObject({ created: true, pruned: ['v3'] });
      const kept = (await (await fetch(`${a.url}/api/static/releases`)).json()) as {
        releases: { version: string }[];
      };
      expect(kept.releases.map((release) => release.version).sort()).toEqual(['v1', 'v2', 'v4']);
      expect((await post(a, 'v3/activate')).status).toBe(404);
      // B's own copy of v3 is gone; A's goes at its next switch.
      expect(
        (await readdir(path.join(b.root, '.shared'))).some((name) => name.startsWith('v3@')),
      ).toBe(false);
      expect((await post(a, 'v4/activate')).status).toBe(200);
      await waitFor(
        async () =>
          !(await readdir(path.join(a.root, '.shared'))).some((name) => name.startsWith('v3@')),
        "v3 removed from A's disk",
      );
    });

    it('serves the active release on a gateway started later, its folder empty', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox);
      expect((await upload(a, 'v1', await build('v1'))).status).toBe(201);
      expect((await post(a, 'v1/activate')).status).toBe(200);
      // releases: 'auto' sees the shared uploads, though the folder holds nothing yet.
      const c = await frontend(sandbox, { releases: 'auto' });
      expect(await page(c)).toBe('<title>v1</title>');
      // A folder with a site of its own stays that site.
      const site = await tempDir();
      cleanups.push(site.cleanup);
      await writeTree(site.dir, { 'index.html': '<title>own site</title>' });
      const d = await frontend(sandbox, { root: site.dir, releases: 'auto' });
      expect(await page(d)).toBe('<title>own site</title>');
    });

    it('serves its own folder until an upload is activated, even one of the same name', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox);
      const folder = await tempDir();
      cleanups.push(folder.cleanup);
      await writeTree(folder.dir, { 'v1/index.html': '<title>by hand</title>', current: 'v1\n' });
      const b = await frontend(sandbox, { root: folder.dir, releases: 'auto' });
      expect(await page(b)).toBe('<title>by hand</title>');
      expect(
        b.logs.some((line) => String(line.msg).includes('other gateways do not share it')),
      ).toBe(true);
      expect((await upload(a, 'v1', await build('v1'))).status).toBe(201);
      const since = Date.now();
      expect((await post(a, 'v1/activate')).status).toBe(200);
      await servedWithin(b, 'v1', since);
    });

    it('keeps serving the release before when the bytes in the database no longer match', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox);
      const b = await frontend(sandbox);
      expect((await upload(a, 'v1', await build('v1'))).status).toBe(201);
      const since = Date.now();
      expect((await post(a, 'v1/activate')).status).toBe(200);
      await servedWithin(b, 'v1', since);
      expect((await upload(a, 'v2', await build('v2'))).status).toBe(201);
      const database = a.app.context.services.get('database');
      const chunks = sql.raw(
        database.dialect === 'mysql' ? '`qwickapps_release_chunks`' : '"qwickapps_release_chunks"',
      );
      await database.run(
        sql`UPDATE ${chunks} SET data = ${Buffer.from('not the archive')} WHERE scope = 'static:static' AND version = 'v2'`,
      );
      // A unpacked v2 when it was uploaded; B reads it back, finds another checksum, refuses it.
      expect((await post(a, 'v2/activate')).status).toBe(200);
      await waitFor(
        () => b.logs.some((line) => String(line.error).includes('no longer reads back')),
        'B refused the changed bytes',
      );
      expect(await page(b)).toBe('<title>v1</title>');
      expect(await page(a)).toBe('<title>v2</title>');
      // Asked through B, the activation is refused and changes nothing.
      const refused = await post(b, 'v2/activate');
      expect(refused).toMatchObject({ status: 409, body: { code: 'STATIC_RELEASE_CORRUPT' } });
      expect(
        (await readdir(path.join(b.root, '.shared'))).filter((name) => name.startsWith('v2@')),
      ).toEqual([]);
    });

    it('stores an archive larger than a row holds in chunks, and B reads it back whole', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox);
      const b = await frontend(sandbox);
      const folder = await tempDir();
      cleanups.push(folder.cleanup);
      // Random bytes do not compress: the archive spans three 1 MiB chunks.
      const blob = randomBytes(2.5 * 1024 * 1024);
      await writeTree(folder.dir, { 'index.html': '<title>big</title>', 'blob.bin': blob });
      const bytes = await tarballOf(folder.dir);
      expect((await upload(a, 'big', bytes)).status).toBe(201);
      const database = a.app.context.services.get('database');
      const chunks = sql.raw(
        database.dialect === 'mysql' ? '`qwickapps_release_chunks`' : '"qwickapps_release_chunks"',
      );
      const [row] = await database.rows<{ n: number | string }>(
        sql`SELECT count(*) AS n FROM ${chunks} WHERE scope = 'static:static' AND version = 'big'`,
      );
      expect(Number(row.n)).toBe(Math.ceil(bytes.length / (1024 * 1024)));
      expect(Number(row.n)).toBeGreaterThan(2);
      expect((await post(a, 'big/activate')).status).toBe(200);
      // Three chunks to read and a file to unpack: timed in the test of 20 activations, not here.
      await waitFor(async () => (await page(b)) === '<title>big</title>', 'B serves big');
      const served = Buffer.from(await (await fetch(`${b.url}/blob.bin`)).arrayBuffer());
      expect(sha256(served)).toBe(sha256(blob));
    });

    it('stores a version once when two gateways upload it at the same moment', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox);
      const b = await frontend(sandbox);
      const [one, other] = [await build('one'), await build('other')];
      const same = await Promise.all([upload(a, 'v1', one), upload(b, 'v1', one)]);
      expect(same.map((answer) => answer.status).sort()).toEqual([200, 201]);
      const differing = await Promise.all([upload(a, 'v2', one), upload(b, 'v2', other)]);
      expect(differing.map((answer) => answer.status).sort()).toEqual([201, 409]);
      const winner = differing.find((answer) => answer.status === 201)!.body.sha256;
      expect(differing.find((answer) => answer.status === 409)!.body).toMatchObject({
        code: 'STATIC_RELEASE_EXISTS',
        sha256: winner,
      });
      // Whichever won, every gateway serves its bytes: the rows hold one archive per version.
      const database = a.app.context.services.get('database');
      const chunks = sql.raw(
        database.dialect === 'mysql' ? '`qwickapps_release_chunks`' : '"qwickapps_release_chunks"',
      );
      const rows = await database.rows<{ version: string; n: number | string }>(
        sql`SELECT version, count(*) AS n FROM ${chunks} WHERE scope = 'static:static' GROUP BY version ORDER BY version`,
      );
      expect(rows.map((row) => [row.version, Number(row.n)])).toEqual([
        ['v1', 1],
        ['v2', 1],
      ]);
      const since = Date.now();
      expect((await post(b, 'v2/activate')).status).toBe(200);
      const title = winner === sha256(one) ? 'one' : 'other';
      await servedWithin(a, title, since);
    });

    it('keeps releases on its own disk with uploads.store "disk"', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox, { uploads: { store: 'disk' } });
      const b = await frontend(sandbox);
      expect((await upload(a, 'v1', await build('v1'))).status).toBe(201);
      expect((await readdir(a.root)).sort()).toEqual(['.incoming', '.meta', 'v1']);
      expect((await post(b, 'v1/activate')).status).toBe(404);
    });

    it('materialises one copy when processes race for it, and every one gets it whole', async () => {
      const sandbox = await sandboxOf(target);
      const a = await frontend(sandbox);
      const bytes = await build('v1');
      expect((await upload(a, 'v1', bytes)).status).toBe(201);
      const database = a.app.context.services.get('database');
      const shared = await tempDir();
      cleanups.push(shared.cleanup);
      const limits = { maxUnpackedBytes: 1024 * 1024, maxEntries: 100 };
      // Stores of their own on one folder, as two processes of one machine would have.
      const stores = [1, 2, 3, 4].map(
        () => new DatabaseReleaseStore(database, 'static:static', shared.dir, limits),
      );
      const folders = await Promise.all(
        stores.flatMap((store) => [store.directory('v1'), store.directory('v1')]),
      );
      const folder = path.join(shared.dir, '.shared', `v1@${sha256(bytes).slice(0, 16)}`);
      expect(new Set(folders)).toEqual(new Set([folder]));
      expect(await readdir(path.join(shared.dir, '.shared'))).toEqual([path.basename(folder)]);
      expect(await readFile(path.join(folder, 'index.html'), 'utf8')).toBe('<title>v1</title>');
      expect(await readdir(path.join(shared.dir, '.incoming'))).toEqual([]);
      expect(await stores[0].directory('v9')).toBeUndefined();
    });
  });
}

describe('the shared store needs a database that several gateways reach', () => {
  it('fails start-up naming uploads.store with SQLite', async () => {
    const sandbox = await sandboxOf(TARGETS.find((entry) => entry.provider === 'sqlite')!);
    await expect(frontend(sandbox, { uploads: { store: 'database' } })).rejects.toThrow(
      /plugins\.static\.uploads\.store: expected the database plugin on PostgreSQL or MySQL.*received "database" with sqlite/,
    );
  });
});

const postgres = TARGETS.find((entry) => entry.provider === 'postgres')!;
describe.skipIf(!postgres.available)('frontend releases shared through PostgreSQL', () => {
  it('follows an activation made while its LISTEN connection was down, once it is back', async () => {
    const sandbox = await sandboxOf(postgres);
    const a = await frontend(sandbox);
    const b = await frontend(sandbox);
    for (const version of ['v1', 'v2']) {
      expect((await upload(a, version, await build(version))).status).toBe(201);
    }
    const since = Date.now();
    expect((await post(a, 'v1/activate')).status).toBe(200);
    await servedWithin(b, 'v1', since);
    const database = a.app.context.services.get('database');
    // Ends every LISTEN connection on this schema's channel (A's and B's) server-side.
    await database.run(
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN "qwickapps_releases%' AND pid <> pg_backend_pid()`,
    );
    expect((await post(a, 'v2/activate')).status).toBe(200);
    await waitFor(async () => (await page(b)) === '<title>v2</title>', 'B serves v2');
    expect(b.logs.some((line) => String(line.msg).includes('reconnect'))).toBe(true);
  });
});
