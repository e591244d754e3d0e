import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaproverOrchestrator } from './caprover.js';
import { DockerOrchestrator, demultiplex, splitImage } from './docker.js';
import { caproverOrchestratorSchema, dockerOrchestratorSchema } from './options.js';
import { FakeCaprover } from './test-support/fake-caprover.js';
import { FakeDocker } from './test-support/fake-docker.js';

/**
 * These tests drive the CapRover and Docker orchestrators against a local fake that follows the
 * platform's documented API (paths, methods, bodies, status codes). The process orchestrator
 * runs for real in traffic.test.ts, the Kubernetes one in kubernetes.engine.test.ts.
 */

const logger = pino({ level: 'silent' });
const layout = [{ name: 'api', slots: ['slot-a', 'slot-b'] }];

describe('caprover orchestrator (CapRover /api/v2)', () => {
  let captain: FakeCaprover;
  const orchestrator = () =>
    new CaproverOrchestrator(
      caproverOrchestratorSchema.parse({
        type: 'caprover',
        url: captain.url,
        password: 'captain42',
        image: 'registry.example.com/api:{version}',
        env: { VERSION: '{version}' },
      }),
      layout,
      logger,
    );

  beforeEach(async () => {
    captain = await new FakeCaprover('captain42').start();
  });
  afterEach(() => captain.close());

  it('registers one app per slot once, configures it and deploys the image', async () => {
    const caprover = orchestrator();
    const { target } = await caprover.start({ service: 'api', slot: 'slot-b', version: 'v2' });
    expect(target).toBe('http://srv-captain--api-slot-b:3000');
    expect(captain.apps.get('api-slot-b')).toMatchObject({
      instanceCount: 1,
      containerHttpPort: 3000,
      envVars: [
        { key: 'VERSION', value: 'v2' },
        { key: 'PORT', value: '3000' },
      ],
      deployedImages: ['registry.example.com/api:v2'],
    });
    await caprover.start({ service: 'api', slot: 'slot-b', version: 'v3' });
    expect(captain.apps.get('api-slot-b')?.deployedImages).toEqual([
      'registry.example.com/api:v2',
      'registry.example.com/api:v3',
    ]);
    const registrations = captain.requests.filter(
      (r) => r.path === '/api/v2/user/apps/appDefinitions/register',
    );
    expect(registrations).toHaveLength(1);
    expect(
      captain.requests.find((r) => r.path.startsWith('/api/v2/user/apps/appData/'))?.path,
    ).toBe('/api/v2/user/apps/appData/api-slot-b?detached=1');
    expect(captain.logins).toBe(1);
  });

  it('scales a slot to zero, reports status and logs, and logs in again when the token is refused', async () => {
    const caprover = orchestrator();
    await caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(await caprover.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'running',
      detail: '1 instance(s), deployed version 1',
    });
    captain.token = 'token-2';
    await caprover.stop({ service: 'api', slot: 'slot-a' });
    expect(captain.logins).toBe(2);
    expect(await caprover.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'stopped',
      detail: 'scaled to 0 instances',
    });
    expect(await caprover.logs({ service: 'api', slot: 'slot-a' }, 10)).toEqual([
      'started registry.example.com/api:v1',
    ]);
    expect(await caprover.status({ service: 'api', slot: 'slot-b' })).toEqual({
      state: 'stopped',
      detail: 'no such app',
    });
  });

  it('reports CapRover errors with their status and description', async () => {
    const wrong = new CaproverOrchestrator(
      caproverOrchestratorSchema.parse({
        type: 'caprover',
        url: captain.url,
        password: 'nope',
        image: 'api:{version}',
      }),
      layout,
      logger,
    );
    await expect(wrong.start({ service: 'api', slot: 'slot-a', version: 'v1' })).rejects.toThrow(
      'CapRover login failed: Password is incorrect.',
    );
  });

  it('calls with a configured token and never logs in; the image defaults to {service}:{version}', async () => {
    const caprover = new CaproverOrchestrator(
      caproverOrchestratorSchema.parse({
        type: 'caprover',
        url: captain.url,
        token: captain.token,
      }),
      layout,
      logger,
    );
    await caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(captain.apps.get('api-slot-a')?.deployedImages).toEqual(['api:v1']);
    expect(captain.logins).toBe(0);
    expect(captain.requests.some((r) => r.path === '/api/v2/login')).toBe(false);
    // A service's own image still wins over the default.
    const own = new CaproverOrchestrator(
      caproverOrchestratorSchema.parse({
        type: 'caprover',
        url: captain.url,
        token: captain.token,
      }),
      [{ ...layout[0], image: 'registry.example.com/shop-api:{version}' }],
      logger,
    );
    await own.start({ service: 'api', slot: 'slot-b', version: 'v2' });
    expect(captain.apps.get('api-slot-b')?.deployedImages).toEqual([
      'registry.example.com/shop-api:v2',
    ]);
  });

  it('says what to do when the token is refused and there is no password to log in with', async () => {
    const caprover = new CaproverOrchestrator(
      caproverOrchestratorSchema.parse({ type: 'caprover', url: captain.url, token: 'expired' }),
      layout,
      logger,
    );
    await expect(caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' })).rejects.toThrow(
      'CapRover refused the configured token (status 1106: Auth token corrupted): set a fresh orchestrator.token (CAPROVER_TOKEN), or orchestrator.password so the gateway logs in itself.',
    );
    // With the password as well, a refused token is renewed by logging in.
    const renewing = new CaproverOrchestrator(
      caproverOrchestratorSchema.parse({
        type: 'caprover',
        url: captain.url,
        token: 'expired',
        password: 'captain42',
      }),
      layout,
      logger,
    );
    await renewing.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(captain.logins).toBe(1);
  });

  it('names the server it could not reach', async () => {
    const url = captain.url;
    await captain.close();
    const caprover = new CaproverOrchestrator(
      caproverOrchestratorSchema.parse({ type: 'caprover', url, token: 't' }),
      layout,
      logger,
    );
    await expect(caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' })).rejects.toThrow(
      `CapRover at ${url} could not be reached (GET /user/apps/appDefinitions: ECONNREFUSED); check orchestrator.url (CAPROVER_URL).`,
    );
  });

  it('needs a url, and a token or a password, naming both when both are missing', () => {
    const result = caproverOrchestratorSchema.safeParse({
      type: 'caprover',
      url: undefined,
      token: undefined,
    });
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      [
        'url',
        'the CapRover dashboard URL, e.g. "https://captain.example.com" (is CAPROVER_URL set?)',
      ],
      [
        'token',
        'a CapRover token (is CAPROVER_TOKEN set?) or password, so the gateway can call its API',
      ],
    ]);
  });
});

describe('docker orchestrator (Engine API over a unix socket)', () => {
  let directory: string;
  let docker: FakeDocker;
  const orchestrator = (image = 'registry.example.com:5000/api:{version}') =>
    new DockerOrchestrator(
      dockerOrchestratorSchema.parse({
        type: 'docker',
        socketPath: docker.socketPath,
        image,
        ports: [3100, 3102],
        env: { VERSION: '{version}' },
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

  it('pulls, replaces the slot container, publishes its port on loopback and starts it', async () => {
    const engine = orchestrator();
    const { target } = await engine.start({ service: 'api', slot: 'slot-b', version: 'v2' });
    expect(target).toBe('http://127.0.0.1:3102');
    const container = docker.find('api-slot-b')!;
    expect(container).toMatchObject({
      Image: 'registry.example.com:5000/api:v2',
      Env: ['VERSION=v2', 'PORT=3000'],
      Labels: {
        'io.qwickapps.service': 'api',
        'io.qwickapps.slot': 'slot-b',
        'io.qwickapps.version': 'v2',
      },
      PortBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '3102' }] },
      State: { Running: true },
    });
    expect(docker.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1.43/images/create?fromImage=registry.example.com%3A5000%2Fapi&tag=v2',
      'DELETE /v1.43/containers/api-slot-b?force=true',
      'POST /v1.43/containers/create?name=api-slot-b',
      `POST /v1.43/containers/${container.Id}/start`,
    ]);
    // A redeploy removes the running container first (force), then creates the new one.
    await engine.start({ service: 'api', slot: 'slot-b', version: 'v3' });
    expect(docker.containers.size).toBe(1);
    expect(docker.find('api-slot-b')?.Image).toBe('registry.example.com:5000/api:v3');
  });

  it('stops, inspects and reads demultiplexed logs', async () => {
    const engine = orchestrator();
    await engine.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(await engine.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'running',
      pid: 4242,
      detail: 'running',
    });
    await engine.stop({ service: 'api', slot: 'slot-a' });
    await engine.stop({ service: 'api', slot: 'slot-a' }); // 304: already stopped
    expect(await engine.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'exited',
      detail: 'exited, exit code 0',
    });
    expect(await engine.logs({ service: 'api', slot: 'slot-a' }, 10)).toEqual([
      'listening on PORT=3000',
      'stopping on SIGTERM',
    ]);
    expect(await engine.status({ service: 'api', slot: 'slot-b' })).toEqual({
      state: 'stopped',
      detail: 'no container',
    });
  });

  it("reports the Engine's message when a pull fails", async () => {
    await expect(
      orchestrator('missing/api:{version}').start({
        service: 'api',
        slot: 'slot-a',
        version: 'v1',
      }),
    ).rejects.toThrow(
      'docker pull failed (HTTP 404): pull access denied for missing/api, repository does not exist',
    );
  });

  it('splits image references and log frames', () => {
    expect(splitImage('registry:5000/team/api:v2')).toEqual({
      fromImage: 'registry:5000/team/api',
      tag: 'v2',
    });
    expect(splitImage('registry:5000/api')).toEqual({
      fromImage: 'registry:5000/api',
      tag: 'latest',
    });
    const frames = Buffer.concat([
      Buffer.from([1, 0, 0, 0, 0, 0, 0, 6]),
      Buffer.from('a\nb\nc\n'.slice(0, 6)),
      Buffer.from([2, 0, 0, 0, 0, 0, 0, 2]),
      Buffer.from('d\n'),
    ]);
    expect(demultiplex(frames)).toEqual(['a', 'b', 'c', 'd']);
    expect(demultiplex(Buffer.from('tty output\nline two\n'))).toEqual(['tty output', 'line two']);
  });
});
