import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/http.js';
import {
  api,
  freePorts,
  servedVersion,
  slotState,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from '../test-support/gateway.js';
import type { TrafficPluginOptions, TrafficServiceOptions } from '../index.js';
import { DockerEngine } from './docker-engine.js';
import { DockerOrchestrator } from './docker.js';
import { dockerOrchestratorSchema } from './options.js';
import {
  DOCKER_SOCKET,
  TEST_IMAGE,
  dockerEngineAvailable,
  engineCall,
  inspectContainer,
  pushFreshImage,
  removeContainers,
  TEST_REGISTRY,
} from './test-support/docker-engine.js';

/**
 * The docker orchestrator against a real dockerd (`.ci/docker.sh`), driven through
 * createTrafficPlugin as a product runs it: releases are containers of a local image (the
 * machine's Node serving `.ci/docker/release.mjs`), published on loopback ports the gateway
 * proxies to.
 */

const available = await dockerEngineAvailable();
/** This run's containers: names start with it, so parallel runs never touch each other's. */
const RUN = `qwt-${process.pid}`;
const VERSIONS = ['v1', 'v2', 'unhealthy-v3'];

let directory: string;
let ports: number[];
const gateways: TrafficGateway[] = [];

interface Setup {
  service?: Partial<TrafficServiceOptions>;
  traffic?: Partial<TrafficPluginOptions>;
}

async function gateway(setup: Setup = {}): Promise<TrafficGateway> {
  const started = await startTrafficGateway({
    ports,
    statePath: path.join(directory, 'state.json'),
    service: setup.service,
    traffic: {
      orchestrator: {
        type: 'docker',
        socketPath: DOCKER_SOCKET,
        image: 'qwickapps-test/release:{version}',
        ports,
        env: { VERSION: '{version}' },
        nameTemplate: `${RUN}-{service}-{slot}`,
        stopTimeout: 5,
      },
      ...setup.traffic,
    },
  });
  gateways.push(started);
  return started;
}

const container = (slot: string) => inspectContainer(`${RUN}-api-${slot}`);

/** Kills the container's process from the host, as a crash or the kernel's OOM killer would. */
async function crash(slot: string): Promise<string> {
  const running = (await container(slot))!;
  expect(running.State.Running).toBe(true);
  process.kill(running.State.Pid, 'SIGKILL');
  return running.Id;
}

async function deployed(started: TrafficGateway, version: string): Promise<void> {
  const answer = await api(started, 'POST', '/deploy', { version });
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
}

/** v1 active in slot-a, v2 a promotable candidate in slot-b. */
async function activeV1CandidateV2(started: TrafficGateway): Promise<void> {
  await deployed(started, 'v1');
  await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
  await deployed(started, 'v2');
  await waitForService(
    started,
    (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
    'v2 eligible',
    20_000,
  );
}

/** The reasons of the transitions an exit caused. */
const exitReasons = (started: TrafficGateway) =>
  started.traffic
    .history('api', 50)
    .map((transition) => transition.reason ?? '')
    .filter((reason) => reason.includes('exited'));

interface Sample {
  status?: number;
  error?: string;
  version?: string;
}

function get(url: string, agent: http.Agent | false): Promise<Sample> {
  return new Promise((resolve) => {
    const req = http.get(
      url,
      { agent, headers: agent === false ? { connection: 'close' } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          let version: string | undefined;
          try {
            version = (JSON.parse(body) as { version?: string }).version;
          } catch {}
          resolve({ status: res.statusCode, version });
        });
        res.on('error', (error) => resolve({ error: error.message }));
      },
    );
    req.on('error', (error) => resolve({ error: error.message }));
  });
}

if (!available) {
  describe('docker orchestrator on a real Docker Engine', () => {
    it(`needs dockerd on ${DOCKER_SOCKET} with ${TEST_IMAGE} (run .ci/docker.sh); skipped outside CI`, () => {
      expect(process.env.CI).toBeFalsy();
    });
  });
} else {
  beforeAll(async () => {
    // One tag per version: the image template `qwickapps-test/release:{version}` picks it.
    for (const tag of VERSIONS) {
      const tagged = await engineCall(
        'POST',
        `/images/${TEST_IMAGE}/tag?repo=qwickapps-test/release&tag=${tag}`,
      );
      expect(tagged.status, tagged.text).toBe(201);
    }
  });

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'traffic-docker-'));
    ports = await freePorts(2);
  });

  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((started) => started.stop()));
    await removeContainers(RUN);
    await rm(directory, { recursive: true, force: true });
  });

  afterAll(async () => {
    await removeContainers(RUN);
  });

  describe('docker orchestrator on a real Docker Engine', () => {
    it('speaks the API version the Engine offers, and reports a pinned one it refuses', async () => {
      const version = (await engineCall('GET', '/version')).json() as { ApiVersion: string };
      const engine = new DockerEngine({ socketPath: DOCKER_SOCKET, requestTimeout: 5_000 });
      expect(await engine.apiVersion()).toBe(
        Number(version.ApiVersion.split('.')[1]) > 47 ? '1.47' : version.ApiVersion,
      );
      const pinned = new DockerOrchestrator(
        dockerOrchestratorSchema.parse({
          type: 'docker',
          socketPath: DOCKER_SOCKET,
          apiVersion: 'v9.99',
          image: TEST_IMAGE,
        }),
        [{ name: 'api', slots: ['slot-a'] }],
        pino({ level: 'silent' }),
      );
      await expect(pinned.start({ service: 'api', slot: 'slot-a', version: 'v1' })).rejects.toThrow(
        /docker .*failed \(HTTP 400\).*version/i,
      );
    });

    it('deploys v1 and v2, promotes and rolls back with no request failed under load', async () => {
      const started = await gateway();
      await activeV1CandidateV2(started);
      const candidate = (await container('slot-b'))!;
      expect(candidate.Config.Image).toBe('qwickapps-test/release:v2');
      expect(candidate.Config.Env).toEqual(expect.arrayContaining(['VERSION=v2', 'PORT=3000']));
      expect(candidate.Config.Labels).toMatchObject({
        'io.qwickapps.service': 'api',
        'io.qwickapps.slot': 'slot-b',
        'io.qwickapps.version': 'v2',
      });
      expect(candidate.HostConfig.PortBindings['3000/tcp']).toEqual([
        { HostIp: '127.0.0.1', HostPort: String(ports[1]) },
      ]);
      expect(candidate.HostConfig.RestartPolicy.Name).toBe('no');
      expect(await servedVersion(started)).toBe('v1');

      const SWITCHES = 6;
      const hello = `${started.url}/api/v1/hello`;
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });
      const samples: Sample[] = [];
      const slow: Sample[] = [];
      let running = true;
      const worker = async (agent: http.Agent | false) => {
        for (let count = 0; running && count < 100_000; count++)
          samples.push(await get(hello, agent));
      };
      const slowWorker = async () => {
        for (let count = 0; running && count < 100; count++)
          slow.push(await get(`${started.url}/api/v1/slow?ms=700`, keepAlive));
      };
      const load = [
        ...Array.from({ length: 4 }, () => worker(keepAlive)),
        worker(false),
        worker(false),
        slowWorker(),
      ];
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (let index = 0; index < SWITCHES; index++) {
        const command = index % 2 === 0 ? '/promote' : '/rollback';
        const answer = await api(started, 'POST', command, {});
        expect(answer.status, `${command} #${index}: ${JSON.stringify(answer.body)}`).toBe(200);
        expect(await servedVersion(started)).toBe(index % 2 === 0 ? 'v2' : 'v1');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      running = false;
      await Promise.all(load);
      keepAlive.destroy();

      const failed = samples.filter((sample) => sample.error !== undefined);
      const non2xx = samples.filter(
        (sample) => sample.status !== undefined && (sample.status < 200 || sample.status > 299),
      );
      const engine = (await engineCall('GET', '/version')).json() as {
        Version: string;
        ApiVersion: string;
      };
      console.log(
        `\ndocker (dockerd ${engine.Version}, API ${engine.ApiVersion}): ${SWITCHES} switches, ` +
          `requests ${samples.length}, failed ${failed.length}, non-2xx ${non2xx.length}; ` +
          `slow ${slow.length}, completed ${slow.filter((sample) => sample.status === 200).length}\n`,
      );
      expect(failed.map((sample) => sample.error)).toEqual([]);
      expect(non2xx.map((sample) => sample.status)).toEqual([]);
      expect(samples.length).toBeGreaterThan(100);
      expect(new Set(samples.map((sample) => sample.version))).toEqual(new Set(['v1', 'v2']));
      expect(slow.every((sample) => sample.status === 200)).toBe(true);
      // The rolled-back release is kept warm in its container, with its output demultiplexed.
      expect(slotState(started.traffic.service('api'), 'slot-b')).toBe('candidate');
      const lines = await started.traffic.logs('api', 'slot-b', 10);
      expect(lines).toEqual(
        expect.arrayContaining(['release v2 listening on 3000', 'release v2 writes to stderr too']),
      );
    }, 60_000);

    it('never promotes a candidate that does not become ready, marks it failed and stops it', async () => {
      const started = await gateway({ service: { startTimeout: 3_000 } });
      await deployed(started, 'v1');
      await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
      await deployed(started, 'unhealthy-v3');
      await waitForService(
        started,
        (view) => slotState(view, 'slot-b') === 'starting',
        'v3 starting',
      );
      const refused = await api(started, 'POST', '/promote', {});
      expect(refused.status).toBe(409);
      const view = await waitForService(
        started,
        (current) => slotState(current, 'slot-b') === 'failed',
        'v3 failed',
        10_000,
      );
      const failure = started.traffic
        .history('api', 50)
        .find((transition) => transition.slot === 'slot-b' && transition.to === 'failed');
      expect(failure?.reason).toMatch(/not healthy within 3 s|answered 503/);
      expect(slotState(view, 'slot-b')).toBe('failed');
      expect(await servedVersion(started)).toBe('v1');
      await waitFor(
        async () => (await container('slot-b'))?.State.Running === false,
        'the failed container stopped',
        10_000,
      );
    }, 60_000);

    it('starts a crashed active container again when there is nothing to roll back to', async () => {
      const started = await gateway();
      await deployed(started, 'v1');
      await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
      const crashed = await crash('slot-a');
      await waitFor(
        () =>
          started.traffic
            .history('api', 20)
            .some((transition) =>
              /container exited with code 137; restarting/.test(transition.reason ?? ''),
            ),
        'the exit reported',
        10_000,
      );
      await waitFor(
        async () => {
          const now = await container('slot-a');
          return now !== undefined && now.Id !== crashed && now.State.Running;
        },
        'a new container running',
        10_000,
      );
      await waitFor(async () => (await servedVersion(started)) === 'v1', 'v1 served again', 10_000);
      expect(started.traffic.service('api').active?.version).toBe('v1');
    }, 60_000);

    it('rolls back when the active container crashes under automatic rollback', async () => {
      const started = await gateway({
        // Only the exit can roll it back: failing health checks would take far longer.
        service: { failureThreshold: 1_000 },
        traffic: { rollback: { automatic: true, window: 10 * 60_000 } },
      });
      await activeV1CandidateV2(started);
      expect((await api(started, 'POST', '/promote', {})).status).toBe(200);
      expect(await servedVersion(started)).toBe('v2');
      await crash('slot-b');
      const view = await waitForService(
        started,
        (current) => current.active?.version === 'v1',
        'rolled back to v1',
      );
      expect(slotState(view, 'slot-b')).toBe('failed');
      // Reported by the Engine's event, before any health check could notice.
      expect(exitReasons(started)).toContainEqual(
        expect.stringMatching(
          /^automatic rollback: active process exited: container exited with code 137/,
        ),
      );
      expect(await servedVersion(started)).toBe('v1');
    }, 60_000);

    it('adopts the running containers when the gateway restarts within the rollback window', async () => {
      const first = await gateway();
      await activeV1CandidateV2(first);
      expect((await api(first, 'POST', '/promote', {})).status).toBe(200);
      const before = { a: (await container('slot-a'))!, b: (await container('slot-b'))! };
      await first.stop();
      gateways.splice(gateways.indexOf(first), 1);
      // The containers outlive the gateway.
      expect((await container('slot-a'))?.State.Running).toBe(true);
      expect((await container('slot-b'))?.State.Running).toBe(true);

      // Only the exit can fail the held release below: failing health checks would take far longer.
      const second = await gateway({ service: { failureThreshold: 1_000 } });
      expect(second.traffic.service('api').active?.version).toBe('v2');
      await waitFor(async () => (await servedVersion(second)) === 'v2', 'v2 served', 10_000);
      for (const [slot, was] of [
        ['slot-a', before.a],
        ['slot-b', before.b],
      ] as const) {
        const now = (await container(slot))!;
        expect(now.Id, `${slot} adopted, not recreated`).toBe(was.Id);
        expect(now.State.StartedAt).toBe(was.State.StartedAt);
      }
      expect((await api(second, 'POST', '/rollback', {})).status).toBe(200);
      expect(await servedVersion(second)).toBe('v1');
      // Adopted containers are watched like the ones it started: the held v2 crashing fails it.
      await crash('slot-b');
      await waitForService(second, (view) => slotState(view, 'slot-b') === 'failed', 'v2 failed');
      expect(exitReasons(second)).toContain('process exited: container exited with code 137');
      expect(await servedVersion(second)).toBe('v1');
    }, 60_000);

    it('starts again an active container that died while the gateway was down', async () => {
      const first = await gateway();
      await deployed(first, 'v1');
      await waitForService(first, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
      await first.stop();
      gateways.splice(gateways.indexOf(first), 1);
      const crashed = await crash('slot-a');
      await waitFor(
        async () => (await container('slot-a'))?.State.Running === false,
        'the container dead',
      );
      const second = await gateway();
      await waitFor(async () => (await servedVersion(second)) === 'v1', 'v1 served', 10_000);
      const now = (await container('slot-a'))!;
      expect(now.Id).not.toBe(crashed);
      expect(now.State.Running).toBe(true);
    }, 60_000);

    it('stops an idle dev slot and wakes it on the next request', async () => {
      const started = await gateway({
        service: { dev: true, idleTimeout: 1_500, wakeTimeout: 20_000 },
      });
      await deployed(started, 'v1');
      await waitForService(started, (view) => slotState(view, 'slot-a') === 'dev', 'v1 dev');
      expect(await servedVersion(started)).toBe('v1');
      await waitForService(
        started,
        (view) => view.slots.some((slot) => slot.asleep),
        'asleep',
        10_000,
      );
      await waitFor(
        async () => (await container('slot-a'))?.State.Running === false,
        'the container stopped',
        10_000,
      );
      expect(await servedVersion(started)).toBe('v1');
      expect((await container('slot-a'))?.State.Running).toBe(true);
    }, 60_000);

    it('pulls an image by digest from a registry on a port, with the credentials it needs', async () => {
      const image = `${TEST_REGISTRY.repository}@${await pushFreshImage(RUN)}`;
      expect((await engineCall('GET', `/images/${image}/json`)).status).toBe(404);
      const settings = {
        type: 'docker' as const,
        socketPath: DOCKER_SOCKET,
        image,
        ports: [ports[0]],
        nameTemplate: `${RUN}-{service}-{slot}`,
      };
      const anonymous = new DockerOrchestrator(
        dockerOrchestratorSchema.parse(settings),
        [{ name: 'api', slots: ['slot-a'] }],
        pino({ level: 'silent' }),
      );
      await expect(
        anonymous.start({ service: 'api', slot: 'slot-a', version: 'v1' }),
      ).rejects.toThrow(/docker pull failed \(HTTP 500\):.*no basic auth credentials/);
      await anonymous.close();

      const started = await gateway({
        traffic: {
          orchestrator: {
            ...settings,
            ports,
            env: { VERSION: '{version}' },
            registryAuth: { username: TEST_REGISTRY.username, password: TEST_REGISTRY.password },
          },
        },
      });
      await deployed(started, 'v1');
      await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
      expect((await container('slot-a'))?.Config.Image).toBe(image);
      expect(await servedVersion(started)).toBe('v1');
      // The password is never logged.
      expect(JSON.stringify(started.logs)).not.toContain(TEST_REGISTRY.password);
    }, 60_000);

    it("reports the Engine's error when an image cannot be pulled", async () => {
      const engine = new DockerOrchestrator(
        dockerOrchestratorSchema.parse({
          type: 'docker',
          socketPath: DOCKER_SOCKET,
          image: '127.0.0.1:9/qwickapps/none:{version}',
          ports: [ports[0]],
          nameTemplate: `${RUN}-{service}-{slot}`,
        }),
        [{ name: 'api', slots: ['slot-a'] }],
        pino({ level: 'silent' }),
      );
      await expect(engine.start({ service: 'api', slot: 'slot-a', version: 'v1' })).rejects.toThrow(
        /docker pull .*127\.0\.0\.1:9\/qwickapps\/none:v1.*failed|docker pull failed/,
      );
      await engine.close();
    });
  });
}
