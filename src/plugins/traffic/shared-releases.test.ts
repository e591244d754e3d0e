import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, TARGETS } from '../../../test/support/databases.js';
import { waitFor } from '../../../test/support/http.js';
import { putArchive, sha256, tarballOf } from '../../../test/support/release-upload.js';
import { createDatabasePlugin, type DatabaseOptions } from '../database/index.js';
import type { TrafficPluginOptions } from './index.js';
import {
  api,
  freePorts,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from './test-support/gateway.js';
import { buildRelease } from './test-support/releases.js';

afterAll(removeTempDirs);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A gateway on the shared database with a data folder of its own (state, releases). */
async function gateway(
  database: DatabaseOptions,
  fallback: string,
  shared: Partial<TrafficPluginOptions> = {},
): Promise<TrafficGateway & { data: string }> {
  const data = await mkdtemp(path.join(tmpdir(), 'traffic-shared-'));
  const started = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(data, 'state.json'),
    plugins: [createDatabasePlugin({ ...database, logQueries: false })],
    traffic: {
      orchestrator: {
        type: 'process',
        command: process.execPath,
        args: ['{release}/server.mjs'],
        cwd: fallback,
        env: { VERSION: '{version}' },
        ports: await freePorts(2),
        stopTimeout: 5_000,
      },
      releases: { path: path.join(data, 'releases'), keep: 2, required: true },
      ...shared,
    },
  });
  cleanups.push(async () => {
    await started.stop();
    await rm(data, { recursive: true, force: true });
  });
  return { ...started, data };
}

/** A database sandbox, a folder for builds, and the release the gateways fall back to. */
async function prepare(target: (typeof TARGETS)[number]) {
  const sandbox = await target.sandbox();
  cleanups.push(() => sandbox.cleanup());
  const work = await mkdtemp(path.join(tmpdir(), 'traffic-builds-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const fallback = await buildRelease(path.join(work, 'fallback'), 'configured folder');
  return { sandbox, work, fallback };
}

for (const target of TARGETS.filter((entry) => ['postgres', 'mysql'].includes(entry.provider))) {
  describe.skipIf(!target.available)(`service releases shared through ${target.provider}`, () => {
    it('runs on B, deployed through B, the code uploaded through A', async () => {
      const { sandbox, work, fallback } = await prepare(target);
      const a = await gateway(sandbox.options, fallback);
      const b = await gateway(sandbox.options, fallback);
      const upload = (through: TrafficGateway, version: string, bytes: Buffer) =>
        putArchive(`${through.url}/cpanel/api/traffic/releases/api/${version}`, bytes);

      const v1 = await tarballOf(await buildRelease(path.join(work, 'v1'), 'built v1 on A'));
      expect((await upload(a, 'v1', v1)).status).toBe(201);
      // B lists it, and takes the same bytes as no change and other bytes as a conflict.
      const listed = await fetch(`${b.url}/cpanel/api/traffic/releases/api`);
      expect(((await listed.json()) as { releases: unknown[] }).releases).toEqual([
        expect.objectContaining({ version: 'v1', sha256: sha256(v1), size: v1.length }),
      ]);
      expect((await upload(b, 'v1', v1)).body).toMatchObject({ created: false });
      const v2 = await tarballOf(await buildRelease(path.join(work, 'v2'), 'built v2 on A'));
      const conflict = await upload(b, 'v1', v2);
      expect(conflict.status).toBe(409);
      expect(conflict.body).toMatchObject({ code: 'TRAFFIC_RELEASE_EXISTS', sha256: sha256(v1) });

      // Deployed through B: B's orchestrator runs A's upload from B's own copy.
      expect((await api(b, 'POST', '/deploy', { service: 'api', version: 'v1' })).status).toBe(202);
      await waitForService(b, (view) => view.active?.version === 'v1', 'v1 active on B');
      const answer = (await (await fetch(`${b.url}/api/v1/hello`)).json()) as Record<
        string,
        string
      >;
      expect(answer).toMatchObject({ version: 'v1', message: 'built v1 on A' });
      // Materialised under B's data folder, named by its checksum, and only there.
      const copy = path.join(b.data, 'releases', 'api', '.shared', `v1@${sha256(v1).slice(0, 16)}`);
      expect(answer.cwd).toBe(copy);
      expect(await readdir(path.dirname(copy))).toEqual([path.basename(copy)]);
      expect(await readdir(path.join(b.data, 'releases', 'api', '.incoming'))).toEqual([]);

      // Retention (keep 2) through A prunes the rows every gateway reads.
      for (const version of ['v2', 'v3', 'v4']) {
        const build = await buildRelease(path.join(work, version), `built ${version}`);
        expect((await upload(a, version, await tarballOf(build))).status).toBe(201);
      }
      const after = await fetch(`${b.url}/cpanel/api/traffic/releases/api`);
      const versions = ((await after.json()) as { releases: { version: string }[] }).releases.map(
        (release) => release.version,
      );
      // A's traffic state (a file of its own here) knows nothing of B's slot: v1 is pruned...
      expect(versions).toEqual(['v4', 'v3']);
      // B's slot keeps running from B's own copy, which only B's retention would remove...
      const still = (await (await fetch(`${b.url}/api/v1/hello`)).json()) as Record<string, string>;
      expect(still).toMatchObject({ version: 'v1', cwd: copy });
      expect(await readdir(copy)).toEqual(expect.arrayContaining(['server.mjs', 'message.txt']));
      // ...and a version no longer stored fails to deploy on B instead of running other code.
      expect((await api(b, 'POST', '/deploy', { service: 'api', version: 'v2' })).status).toBe(202);
      await waitForService(
        b,
        (view) => view.slots.some((slot) => slot.version === 'v2' && slot.state === 'failed'),
        'v2 failed on B',
      );
      // v4 starts from a copy of its own beside the running v1's, which the start leaves alone.
      expect((await api(b, 'POST', '/deploy', { service: 'api', version: 'v4' })).status).toBe(202);
      await waitForService(
        b,
        (view) => view.slots.some((slot) => slot.version === 'v4' && slot.state === 'candidate'),
        'v4 candidate on B',
      );
      const copies = await readdir(path.dirname(copy));
      expect(copies.map((name) => name.split('@')[0]).sort()).toEqual(['v1', 'v4']);
    });
  });
}

const postgres = TARGETS.find((entry) => entry.provider === 'postgres')!;
describe.skipIf(!postgres.available)('service releases with the traffic state shared', () => {
  it('the driving gateway runs what was uploaded through the other, and so does the next one', async () => {
    const { sandbox, work, fallback } = await prepare(postgres);
    // The traffic state in the database too: one gateway drives, the other follows.
    const replicas = {
      store: { type: 'auto' as const },
      replicas: { lockInterval: 200, handoverDelay: 200 },
    };
    const first = await gateway(sandbox.options, fallback, replicas);
    const second = await gateway(sandbox.options, fallback, replicas);
    await waitFor(
      () => [first, second].some((entry) => entry.traffic.role() === 'leader'),
      'a driving gateway',
    );
    const [driver, follower] =
      first.traffic.role() === 'leader' ? [first, second] : [second, first];
    expect(follower.traffic.role()).toBe('follower');

    const v1 = await tarballOf(await buildRelease(path.join(work, 'v1'), 'built v1'));
    const uploaded = await putArchive(`${follower.url}/cpanel/api/traffic/releases/api/v1`, v1);
    expect(uploaded.status).toBe(201);
    expect((await api(follower, 'POST', '/deploy', { service: 'api', version: 'v1' })).status).toBe(
      202,
    );
    await waitForService(driver, (view) => view.active?.version === 'v1', 'v1 active', 15_000);
    const copy = (of: { data: string }) =>
      path.join(of.data, 'releases', 'api', '.shared', `v1@${sha256(v1).slice(0, 16)}`);
    // The driver runs it from its own copy; both gateways route to it.
    await waitFor(async () => {
      const answers = await Promise.all(
        [driver, follower].map(async (entry) => {
          const response = await fetch(`${entry.url}/api/v1/hello`);
          return response.ok ? ((await response.json()) as { cwd: string }).cwd : undefined;
        }),
      );
      return answers.every((cwd) => cwd === copy(driver));
    }, "both gateways answered by the driver's copy of v1");

    // The driver goes, and its releases with it: the other takes over and starts v1 itself.
    await driver.stop();
    await waitFor(() => follower.traffic.role() === 'leader', 'the other drives', 15_000);
    await waitFor(
      async () => {
        const response = await fetch(`${follower.url}/api/v1/hello`);
        return response.ok && ((await response.json()) as { cwd: string }).cwd === copy(follower);
      },
      "v1 running from the new driver's own copy",
      15_000,
    );
  }, 60_000);
});
