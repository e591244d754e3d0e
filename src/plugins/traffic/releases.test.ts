import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_ARCHIVES, rawTarball } from '../../../test/support/tarball.js';
import {
  api,
  freePorts,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from './test-support/gateway.js';
import {
  announceUpload,
  filesUnder,
  putArchive,
  sha256,
  streamUpload,
  tarballOf,
} from '../../../test/support/release-upload.js';
import { buildRelease } from './test-support/releases.js';

const MIB = 1024 * 1024;
const MAX_BYTES = 256 * 1024;

let directory: string;
let releasesRoot: string;
let gateway: TrafficGateway;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-releases-'));
  releasesRoot = path.join(directory, 'releases');
  // What runs for a version nobody uploaded: the same command in the configured folder.
  const fallback = await buildRelease(path.join(directory, 'fallback'), 'configured folder');
  gateway = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(directory, 'state.json'),
    traffic: {
      orchestrator: {
        type: 'process',
        command: process.execPath,
        // `{release}`: the uploaded release's folder, else the configured one.
        args: ['{release}/server.mjs'],
        cwd: fallback,
        env: { VERSION: '{version}' },
        ports: await freePorts(2),
        stopTimeout: 5_000,
      },
      releases: { path: releasesRoot, maxBytes: MAX_BYTES, maxUnpackedBytes: MIB, keep: 2 },
    },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await rm(directory, { recursive: true, force: true });
});

const releaseUrl = (version: string) => `${gateway.url}/cpanel/api/traffic/releases/api/${version}`;

async function served(): Promise<{ version: string; message: string; cwd: string }> {
  const response = await fetch(`${gateway.url}/api/v1/hello`);
  expect(response.status).toBe(200);
  return (await response.json()) as { version: string; message: string; cwd: string };
}

async function deployAndWait(version: string, state: 'active' | 'candidate'): Promise<void> {
  const started = await api(gateway, 'POST', '/deploy', { service: 'api', version });
  expect(started.status).toBe(202);
  await waitForService(
    gateway,
    (view) =>
      view.slots.some(
        (slot) =>
          slot.version === version &&
          slot.state === state &&
          (state === 'active' || slot.eligible === true),
      ),
    `${version} ${state}`,
  );
}

/** The service's release folder holds exactly these versions, and nothing half-written. */
async function expectStored(versions: string[]): Promise<void> {
  const root = path.join(releasesRoot, 'api');
  const top = (await filesUnder(root)).filter((name) => !name.includes(path.sep));
  expect(top.sort()).toEqual(['.incoming', '.meta', ...versions].sort());
  expect(await filesUnder(path.join(root, '.incoming'))).toEqual([]);
  expect((await filesUnder(path.join(root, '.meta'))).sort()).toEqual(
    versions.map((version) => `${version}.json`).sort(),
  );
}

describe('releases that carry code (process orchestrator)', () => {
  it('uploads v1 and v2, deploys each, and the new code answers from its own folder', async () => {
    const v1 = await tarballOf(await buildRelease(path.join(directory, 'build-v1'), 'built v1'));
    const stored = await putArchive(releaseUrl('v1'), v1);
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({
      service: 'api',
      version: 'v1',
      size: v1.length,
      sha256: sha256(v1),
      created: true,
      pruned: [],
    });
    await deployAndWait('v1', 'active');
    const first = await served();
    expect(first).toMatchObject({ version: 'v1', message: 'built v1' });
    expect(first.cwd).toBe(path.join(releasesRoot, 'api', 'v1'));

    const v2 = await tarballOf(await buildRelease(path.join(directory, 'build-v2'), 'built v2'));
    expect((await putArchive(releaseUrl('v2'), v2)).status).toBe(201);
    await deployAndWait('v2', 'candidate');
    expect((await served()).message).toBe('built v1');
    expect((await api(gateway, 'POST', '/promote', { service: 'api' })).status).toBe(200);
    expect(await served()).toMatchObject({ version: 'v2', message: 'built v2' });

    // The same bytes again change nothing; other bytes under a stored version are refused.
    const again = await putArchive(releaseUrl('v2'), v2);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ version: 'v2', created: false, sha256: sha256(v2) });
    const other = await putArchive(releaseUrl('v2'), v1);
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: 'TRAFFIC_RELEASE_EXISTS', sha256: sha256(v2) });

    const listed = await fetch(`${gateway.url}/cpanel/api/traffic/releases/api`);
    const { releases } = (await listed.json()) as { releases: Record<string, unknown>[] };
    expect(releases.map((release) => release.version)).toEqual(['v2', 'v1']);
    expect(releases[0]).toEqual({
      version: 'v2',
      size: v2.length,
      sha256: sha256(v2),
      uploadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      slot: 'slot-b',
      state: 'active',
    });
    expect(releases[1]).toMatchObject({ version: 'v1', slot: 'slot-a', state: 'previous' });
  });

  it('keeps the old behaviour for a version never uploaded: the same command in its configured folder', async () => {
    // v2 active, v1 warm in the rollback window: roll back so v1 is active and v2's slot is free.
    expect((await api(gateway, 'POST', '/rollback', { service: 'api' })).status).toBe(200);
    await deployAndWait('v9', 'candidate');
    expect((await api(gateway, 'POST', '/promote', { service: 'api' })).status).toBe(200);
    const answer = await served();
    expect(answer).toMatchObject({ version: 'v9', message: 'configured folder' });
    expect(answer.cwd).toBe(path.join(directory, 'fallback'));
  });

  it('refuses an archive whose checksum differs, storing nothing', async () => {
    const bytes = await tarballOf(await buildRelease(path.join(directory, 'build-bad'), 'x'));
    const refused = await putArchive(releaseUrl('v3'), bytes, {
      checksum: sha256(Buffer.from('other')),
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({
      code: 'TRAFFIC_RELEASE_CHECKSUM_MISMATCH',
      received: sha256(bytes),
    });
    const missing = await putArchive(releaseUrl('v3'), bytes, { checksum: 'abc' });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('TRAFFIC_RELEASE_CHECKSUM_REQUIRED');
    const json = await putArchive(releaseUrl('v3'), bytes, {
      headers: { 'content-type': 'text/plain' },
    });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('TRAFFIC_RELEASE_MEDIA_TYPE');
    await expectStored(['v1', 'v2']);
  });

  it('answers 413 past releases.maxBytes, before writing the body to disk', async () => {
    // Announced too big: answered with no byte of the body sent; the rest is read and dropped
    // for a bounded time (closing at once could reset the answer away), then the connection closes.
    const announced = await announceUpload(releaseUrl('v4'), MAX_BYTES + 1);
    expect(announced.status).toBe(413);
    expect(JSON.parse(announced.body)).toMatchObject({ code: 'TRAFFIC_RELEASE_TOO_LARGE' });
    expect(await announced.closed).toBeLessThan(3_000);

    // Streamed with no length: cut once past the limit, while the client still had 64 MiB to send.
    const total = 64 * 1024 * 1024;
    const streamed = await streamUpload(releaseUrl('v4'), total);
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ code: 'TRAFFIC_RELEASE_TOO_LARGE' });
    expect(streamed.sent).toBeLessThan(total);
    await expectStored(['v1', 'v2']);
  });

  for (const hostile of HOSTILE_ARCHIVES) {
    it(`refuses an archive with ${hostile.name}, naming the entry and leaving nothing behind`, async () => {
      const refused = await putArchive(releaseUrl('v5'), rawTarball(hostile.entries));
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({
        code: 'TRAFFIC_RELEASE_UNSAFE_ENTRY',
        entry: hostile.names,
      });
      expect(refused.body.detail).toContain(JSON.stringify(hostile.names));
      await expectStored(['v1', 'v2']);
      expect(existsSync(path.join(directory, 'escaped.txt'))).toBe(false);
      expect(existsSync(path.join(releasesRoot, 'escaped.txt'))).toBe(false);
      expect(existsSync('/tmp/qwickapps-absolute.txt')).toBe(false);
    });
  }

  it('refuses what is not a tarball, a gzip bomb, and a tarball that unpacks past the limit', async () => {
    const garbage = await putArchive(releaseUrl('v6'), Buffer.from('not a tarball at all'));
    expect(garbage.status).toBe(400);
    expect(garbage.body.code).toBe('TRAFFIC_RELEASE_INVALID_ARCHIVE');
    // 4 KiB of gzip that would unpack to 4 MiB of zeros.
    const bomb = rawTarball([{ path: 'zeros.bin', body: '\0'.repeat(4 * 1024 * 1024) }]);
    const exploded = await putArchive(releaseUrl('v6'), bomb);
    expect(exploded.status).toBe(413);
    expect(exploded.body.code).toBe('TRAFFIC_RELEASE_TOO_LARGE');
    // Well within maxBytes, but 2 MiB once unpacked: past maxUnpackedBytes (1 MiB here).
    // (about 17 KiB of gzip: 1 to 125, well under node-tar's bomb guard).
    const lines = Array.from(
      { length: 200_000 },
      (_, index) => `line ${(index * 7919) % 1000}`,
    ).join('\n');
    const big = rawTarball([{ path: 'big.txt', body: lines.padEnd(2 * 1024 * 1024, '.') }]);
    expect(big.length).toBeLessThan(MAX_BYTES);
    const refused = await putArchive(releaseUrl('v6'), big);
    expect(refused.status).toBe(413);
    expect(refused.body).toMatchObject({
      code: 'TRAFFIC_RELEASE_TOO_LARGE',
      maxUnpackedBytes: MIB,
    });
    await expectStored(['v1', 'v2']);
    // A good build under that version goes in afterwards.
    const v6 = await tarballOf(await buildRelease(path.join(directory, 'build-v6'), 'built v6'));
    expect((await putArchive(releaseUrl('v6'), v6)).status).toBe(201);
    await expectStored(['v1', 'v2', 'v6']);
  });

  it('keeps the newest releases.keep uploads, never the active one or the rollback target', async () => {
    // Now: v9 (never uploaded) active, v1 previous. Uploaded: v1, v2, v6 (newest first: v6, v2, v1).
    const v7 = await tarballOf(await buildRelease(path.join(directory, 'build-v7'), 'built v7'));
    const stored = await putArchive(releaseUrl('v7'), v7);
    expect(stored.status).toBe(201);
    // keep 2: v7 and v6 stay; v2 goes; v1 is the rollback target and stays.
    expect(stored.body.pruned).toEqual(['v2']);
    await expectStored(['v1', 'v6', 'v7']);
    expect(await readFile(path.join(releasesRoot, 'api', 'v1', 'message.txt'), 'utf8')).toBe(
      'built v1\n',
    );
    // Rolling back to v1 still runs its files.
    expect((await api(gateway, 'POST', '/rollback', { service: 'api' })).status).toBe(200);
    expect(await served()).toMatchObject({ version: 'v1', message: 'built v1' });
  });

  it('takes links that stay inside the release, and drops setuid bits', async () => {
    const archive = rawTarball([
      { path: 'bin/', type: 'Directory' },
      { path: 'bin/tool', body: '#!/bin/sh\n', mode: 0o4755 },
      { path: 'node_modules/.bin/tool', type: 'SymbolicLink', linkpath: '../../bin/tool' },
      { path: 'tool-copy', type: 'Link', linkpath: 'bin/tool' },
    ]);
    const stored = await putArchive(releaseUrl('links'), archive);
    expect(stored.status).toBe(201);
    const folder = path.join(releasesRoot, 'api', 'links');
    expect(await readFile(path.join(folder, 'node_modules/.bin/tool'), 'utf8')).toBe('#!/bin/sh\n');
    expect(await readFile(path.join(folder, 'tool-copy'), 'utf8')).toBe('#!/bin/sh\n');
    const { mode } = await stat(path.join(folder, 'bin/tool'));
    expect(mode & 0o7000).toBe(0);
    expect(mode & 0o100).toBe(0o100);
  });

  it('answers 404 for an unknown service and 400 for a version that is no version', async () => {
    const bytes = rawTarball([{ path: 'a.txt', body: 'a' }]);
    const unknown = await putArchive(`${gateway.url}/cpanel/api/traffic/releases/nope/v1`, bytes);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('TRAFFIC_SERVICE_NOT_FOUND');
    const invalid = await putArchive(releaseUrl('v1..x+y'), bytes);
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('TRAFFIC_INVALID_REQUEST');
  });
});

describe('releases.required', () => {
  let strict: TrafficGateway;
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'traffic-releases-required-'));
    strict = await startTrafficGateway({
      ports: await freePorts(2),
      statePath: path.join(folder, 'state.json'),
      traffic: {
        orchestrator: {
          type: 'process',
          command: process.execPath,
          args: ['server.mjs'],
          env: { VERSION: '{version}' },
          ports: await freePorts(2),
        },
        releases: { path: path.join(folder, 'releases'), required: true },
      },
    });
  });

  afterAll(async () => {
    await strict?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('fails a version that was never uploaded instead of running the configured command', async () => {
    expect((await api(strict, 'POST', '/deploy', { service: 'api', version: 'v1' })).status).toBe(
      202,
    );
    const view = await waitForService(
      strict,
      (service) => service.slots.some((slot) => slot.state === 'failed'),
      'v1 failed',
    );
    expect(view.lastTransition?.reason).toContain(
      'no uploaded release of api v1 (releases.required is set)',
    );
    const build = await tarballOf(await buildRelease(path.join(folder, 'build'), 'uploaded'));
    const url = `${strict.url}/cpanel/api/traffic/releases/api/v2`;
    expect((await putArchive(url, build)).status).toBe(201);
    expect((await api(strict, 'POST', '/deploy', { service: 'api', version: 'v2' })).status).toBe(
      202,
    );
    await waitForService(strict, (service) => service.active?.version === 'v2', 'v2 active');
  });
});
