import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/http.js';
import { negotiateVersion } from './docker-engine.js';
import { registryAuthHeader, registryOf } from './docker-format.js';
import { DockerOrchestrator, demultiplex, splitImage } from './docker.js';
import { dockerOrchestratorSchema, type OrchestratorOptions } from './options.js';
import { FakeDocker } from './test-support/fake-docker.js';

/**
 * The docker orchestrator's formats, and what a real dockerd cannot be made to do on cue (drop
 * its event stream, refuse a pull for want of credentials), against a stand-in that answers as
 * dockerd 20.10 does. Everything else runs against a real dockerd in docker.engine.test.ts.
 */

const logger = pino({ level: 'silent' });
const layout = [{ name: 'api', slots: ['slot-a', 'slot-b'] }];

describe('docker wire formats', () => {
  it('negotiates the lower of the Engine’s newest API version and its own', () => {
    expect(negotiateVersion('1.41', '1.12')).toBe('1.41');
    expect(negotiateVersion('1.52', '1.44')).toBe('1.47');
    expect(negotiateVersion('1.47')).toBe('1.47');
    expect(() => negotiateVersion('1.23')).toThrow(
      'the Docker Engine speaks API 1.23 at most; the docker orchestrator needs 1.24 or newer',
    );
    expect(() => negotiateVersion('1.60', '1.50')).toThrow(
      'the Docker Engine needs API 1.50 or newer; the docker orchestrator speaks up to 1.47',
    );
  });

  it('splits image references: registry ports, tags and digests', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(splitImage('registry:5000/team/api:v2')).toEqual({
      fromImage: 'registry:5000/team/api',
      tag: 'v2',
    });
    expect(splitImage('registry:5000/api')).toEqual({
      fromImage: 'registry:5000/api',
      tag: 'latest',
    });
    expect(splitImage(`api@${digest}`)).toEqual({ fromImage: 'api', tag: digest });
    expect(splitImage(`registry:5000/api@${digest}`)).toEqual({
      fromImage: 'registry:5000/api',
      tag: digest,
    });
    // A tag beside a digest is dropped, as Docker's client does: the digest names the image.
    expect(splitImage(`registry:5000/api:v2@${digest}`)).toEqual({
      fromImage: 'registry:5000/api',
      tag: digest,
    });
  });

  it('writes X-Registry-Auth as padded base64url JSON and names the registry', () => {
    const header = registryAuthHeader({
      username: 'ci',
      password: '~~~?', // bytes that plain base64 writes as + and /, with padding
      serverAddress: 'registry.example.com:5000',
    });
    expect(header).toMatch(/^[A-Za-z0-9_-]+=+$/);
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toEqual({
      username: 'ci',
      password: '~~~?',
      serveraddress: 'registry.example.com:5000',
    });
    expect(
      JSON.parse(Buffer.from(registryAuthHeader({ identityToken: 't' }), 'base64url').toString()),
    ).toEqual({ identitytoken: 't' });
    expect(registryOf('registry.example.com:5000/api:v1')).toBe('registry.example.com:5000');
    expect(registryOf('localhost/api')).toBe('localhost');
    expect(registryOf('team/api:v1')).toBe('https://index.docker.io/v1/');
  });

  it('demultiplexes framed logs and passes TTY output through', () => {
    const frames = Buffer.concat([
      Buffer.from([1, 0, 0, 0, 0, 0, 0, 4]),
      Buffer.from('a\nb'),
      Buffer.from('\n'),
      Buffer.from([2, 0, 0, 0, 0, 0, 0, 2]),
      Buffer.from('c\n'),
    ]);
    expect(demultiplex(frames)).toEqual(['a', 'b', 'c']);
    expect(demultiplex(Buffer.from('tty output\nline two\n'))).toEqual(['tty output', 'line two']);
  });
});

describe('docker orchestrator options', () => {
  it('reads pull as a policy and names every bad option', () => {
    const parse = (extra: Record<string, unknown>) =>
      dockerOrchestratorSchema.safeParse({ type: 'docker', image: 'api:{version}', ...extra });
    const parsed = parse({});
    expect(parsed.success && [parsed.data.pull, parsed.data.apiVersion]).toEqual([
      'missing',
      undefined,
    ]);
    const always = parse({ pull: true });
    expect(always.success && always.data.pull).toBe('always');
    const never = parse({ pull: false });
    expect(never.success && never.data.pull).toBe('never');
    const bad = parse({
      apiVersion: '1.41.0',
      pull: 'sometimes',
      registryAuth: { username: 'ci' },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual([
      'apiVersion',
      'pull',
      'registryAuth',
    ]);
  });
});

describe('docker orchestrator against a stand-in Engine', () => {
  let directory: string;
  let docker: FakeDocker;
  const orchestrator = (extra: Partial<Extract<OrchestratorOptions, { type: 'docker' }>> = {}) =>
    new DockerOrchestrator(
      dockerOrchestratorSchema.parse({
        type: 'docker',
        socketPath: docker.socketPath,
        image: 'registry.example.com:5000/private/api:{version}',
        ports: [3100, 3102],
        env: { VERSION: '{version}' },
        reconnectDelay: 20,
        ...extra,
      }),
      layout,
      logger,
    );

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'fake-docker-'));
    docker = await new FakeDocker(directory).start();
  });
  afterEach(async () => {
    await docker.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('asks the Engine its version, then pulls with the registry credentials', async () => {
    const engine = orchestrator({
      pull: true,
      registryAuth: { username: 'ci', password: 'registry-secret' },
    });
    await engine.start({ service: 'api', slot: 'slot-b', version: 'v2' });
    const id = docker.find('api-slot-b')!.Id;
    expect(docker.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /version',
      `GET /v1.41/events?filters=${encodeURIComponent('{"type":["container"],"event":["die"],"label":["io.qwickapps.slot"]}')}`,
      'GET /v1.41/containers/api-slot-b/json',
      'POST /v1.41/images/create?fromImage=registry.example.com%3A5000%2Fprivate%2Fapi&tag=v2',
      'DELETE /v1.41/containers/api-slot-b?force=true',
      'POST /v1.41/containers/create?name=api-slot-b',
      `POST /v1.41/containers/${id}/start`,
    ]);
    const pull = docker.requests.find((request) =>
      request.path.startsWith('/v1.41/images/create'),
    )!;
    expect(JSON.parse(Buffer.from(pull.auth!, 'base64url').toString('utf8'))).toEqual({
      username: 'ci',
      password: 'registry-secret',
      serveraddress: 'registry.example.com:5000',
    });
    await engine.close();
  });

  it("reports the Engine's pull failures, before and during the download", async () => {
    const anonymous = orchestrator();
    await expect(
      anonymous.start({ service: 'api', slot: 'slot-a', version: 'v1' }),
    ).rejects.toThrow(
      'docker pull failed (HTTP 500): Get "http://registry.example.com:5000/v2/private/api/manifests/v1": no basic auth credentials',
    );
    const truncated = orchestrator({ image: 'truncated/api:{version}' });
    await expect(
      truncated.start({ service: 'api', slot: 'slot-a', version: 'v1' }),
    ).rejects.toThrow('docker pull truncated/api:v1 failed: unexpected EOF');
    await Promise.all([anonymous.close(), truncated.close()]);
  });

  it('reports its containers that die, not the ones it stops or replaces, and catches up after the event stream drops', async () => {
    const engine = orchestrator({ image: 'api:{version}', pull: 'always' });
    const exits: string[] = [];
    engine.onExit((ref, message) => exits.push(`${ref.slot}: ${message}`));
    await engine.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    await engine.start({ service: 'api', slot: 'slot-a', version: 'v2' }); // replaces (force remove)
    await engine.start({ service: 'api', slot: 'slot-b', version: 'v3' });
    await engine.stop({ service: 'api', slot: 'slot-b' });
    docker.crash('api-slot-a');
    await waitFor(() => exits.length === 1, 'the crash reported');
    expect(exits).toEqual(['slot-a: container exited with code 137']);

    // dockerd restarts: the stream ends, and a container dies before it is followed again.
    await engine.start({ service: 'api', slot: 'slot-b', version: 'v4' });
    docker.dropEvents();
    docker.crash('api-slot-b', 1);
    await waitFor(() => exits.length === 2, 'the missed exit reported');
    expect(exits[1]).toBe("slot-b: exit code 1 (while the Engine's events were not followed)");
    expect(docker.eventStreams).toBe(1);
    await engine.close();
    await waitFor(() => docker.eventStreams === 0, 'the stream closed');
  });

  it('keeps a running container created from the same spec, and replaces one that differs', async () => {
    const engine = orchestrator({ image: 'api:{version}' });
    await engine.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    const first = docker.find('api-slot-a')!.Id;
    await engine.close();
    const again = orchestrator({ image: 'api:{version}' });
    await again.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(docker.find('api-slot-a')!.Id).toBe(first);
    const changed = orchestrator({
      image: 'api:{version}',
      env: { VERSION: '{version}', MODE: 'x' },
    });
    await changed.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(docker.find('api-slot-a')!.Id).not.toBe(first);
    expect(docker.find('api-slot-a')!.Env).toContain('MODE=x');
    await Promise.all([again.close(), changed.close()]);
  });
});
