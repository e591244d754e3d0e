import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TrafficPluginOptions, TrafficServiceOptions } from '../../index.js';
import {
  api,
  freePorts,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from '../../test-support/gateway.js';
import {
  DOCKER_SOCKET,
  TEST_IMAGE,
  dockerEngineAvailable,
  engineCall,
  inspectContainer,
  removeContainers,
} from './docker-engine.js';

export interface DockerGatewaySetup {
  service?: Partial<TrafficServiceOptions>;
  traffic?: Partial<TrafficPluginOptions>;
}

/** The versions the tests deploy: each an image tag of TEST_IMAGE (`unhealthy-*` never ready). */
const VERSIONS = ['v1', 'v2', 'unhealthy-v3'];

/**
 * A suite of gateways on the real dockerd: `suite` runs when the Engine is there (else one test
 * says why; with CI=true the missing Engine fails the run). Each test gets its own slot ports
 * and state file; the run's containers are named `<run>-api-<slot>` and removed after each test.
 */
export async function dockerSuite(
  title: string,
  suite: (bed: ReturnType<typeof testbed>) => void,
): Promise<void> {
  if (!(await dockerEngineAvailable())) {
    describe(title, () => {
      it(`needs dockerd on ${DOCKER_SOCKET} with ${TEST_IMAGE} (run .ci/docker.sh); skipped outside CI`, () => {
        expect(process.env.CI).toBeFalsy();
      });
    });
    return;
  }
  const bed = testbed();
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
  beforeEach(() => bed.setUp());
  afterEach(() => bed.tearDown());
  afterAll(() => removeContainers(bed.run));
  describe(title, () => suite(bed));
}

function testbed() {
  /** This file's containers: names start with it, so parallel files never touch each other's. */
  const run = `qwt-${randomUUID().slice(0, 8)}`;
  let directory = '';
  let ports: number[] = [];
  const gateways: TrafficGateway[] = [];
  const container = (slot: string) => inspectContainer(`${run}-api-${slot}`);

  const deployed = async (started: TrafficGateway, version: string) => {
    const answer = await api(started, 'POST', '/deploy', { version });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  };

  return {
    run,
    get ports() {
      return ports;
    },
    container,
    deployed,

    async setUp() {
      directory = await mkdtemp(path.join(tmpdir(), 'traffic-docker-'));
      ports = await freePorts(2);
    },

    async tearDown() {
      await Promise.all(gateways.splice(0).map((started) => started.stop()));
      await removeContainers(run);
      await rm(directory, { recursive: true, force: true });
    },

    /** A gateway whose `api` service runs in containers of TEST_IMAGE tagged with the version. */
    async gateway(setup: DockerGatewaySetup = {}): Promise<TrafficGateway> {
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
            nameTemplate: `${run}-{service}-{slot}`,
            stopTimeout: 5,
          },
          ...setup.traffic,
        },
      });
      gateways.push(started);
      return started;
    },

    /** Stops a gateway as a restart would: its containers keep running. */
    async stopGateway(started: TrafficGateway): Promise<void> {
      await started.stop();
      gateways.splice(gateways.indexOf(started), 1);
    },

    /** Kills the container's process from the host, as a crash or the kernel's OOM killer would. */
    async crash(slot: string): Promise<string> {
      const running = (await container(slot))!;
      expect(running.State.Running).toBe(true);
      process.kill(running.State.Pid, 'SIGKILL');
      return running.Id;
    },

    /** v1 active in slot-a, v2 a promotable candidate in slot-b. */
    async activeV1CandidateV2(started: TrafficGateway): Promise<void> {
      await deployed(started, 'v1');
      await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
      await deployed(started, 'v2');
      await waitForService(
        started,
        (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
        'v2 eligible',
        20_000,
      );
    },

    /** The reasons of the transitions an exit caused. */
    exitReasons: (started: TrafficGateway) =>
      started.traffic
        .history('api', 50)
        .map((transition) => transition.reason ?? '')
        .filter((reason) => reason.includes('exited')),
  };
}
