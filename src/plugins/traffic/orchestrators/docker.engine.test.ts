import http from 'node:http';
import pino from 'pino';
import { expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/http.js';
import { api, servedVersion, slotState, waitForService } from '../test-support/gateway.js';
import { get, type Sample } from '../test-support/load.js';
import { DockerEngine } from './docker-engine.js';
import { DockerOrchestrator } from './docker.js';
import { dockerOrchestratorSchema } from './options.js';
import { DOCKER_SOCKET, TEST_IMAGE, engineCall } from './test-support/docker-engine.js';
import { dockerSuite } from './test-support/docker-testbed.js';

/**
 * The docker orchestrator against a real dockerd (`.ci/docker.sh`), driven through
 * createTrafficPlugin as a product runs it: releases are containers of a local image (the
 * machine's Node serving `.ci/docker/release.mjs`), published on loopback ports the gateway
 * proxies to. Restarts, dev slots and registries: docker-restore.engine.test.ts.
 */

await dockerSuite('docker orchestrator on a real Docker Engine', (bed) => {
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
    const started = await bed.gateway();
    await bed.activeV1CandidateV2(started);
    const candidate = (await bed.container('slot-b'))!;
    expect(candidate.Config.Image).toBe('qwickapps-test/release:v2');
    expect(candidate.Config.Env).toEqual(expect.arrayContaining(['VERSION=v2', 'PORT=3000']));
    expect(candidate.Config.Labels).toMatchObject({
      'io.qwickapps.service': 'api',
      'io.qwickapps.slot': 'slot-b',
      'io.qwickapps.version': 'v2',
    });
    expect(candidate.HostConfig.PortBindings['3000/tcp']).toEqual([
      { HostIp: '127.0.0.1', HostPort: String(bed.ports[1]) },
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
    const started = await bed.gateway({ service: { startTimeout: 3_000 } });
    await bed.deployed(started, 'v1');
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
    await bed.deployed(started, 'unhealthy-v3');
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
      async () => (await bed.container('slot-b'))?.State.Running === false,
      'the failed container stopped',
      10_000,
    );
  }, 60_000);

  it('starts a crashed active container again when there is nothing to roll back to', async () => {
    const started = await bed.gateway();
    await bed.deployed(started, 'v1');
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
    const crashed = await bed.crash('slot-a');
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
        const now = await bed.container('slot-a');
        return now !== undefined && now.Id !== crashed && now.State.Running;
      },
      'a new container running',
      10_000,
    );
    await waitFor(async () => (await servedVersion(started)) === 'v1', 'v1 served again', 10_000);
    expect(started.traffic.service('api').active?.version).toBe('v1');
  }, 60_000);

  it('rolls back when the active container crashes under automatic rollback', async () => {
    const started = await bed.gateway({
      // Only the exit can roll it back: failing health checks would take far longer.
      service: { failureThreshold: 1_000 },
      traffic: { rollback: { automatic: true, window: 10 * 60_000 } },
    });
    await bed.activeV1CandidateV2(started);
    expect((await api(started, 'POST', '/promote', {})).status).toBe(200);
    expect(await servedVersion(started)).toBe('v2');
    await bed.crash('slot-b');
    const view = await waitForService(
      started,
      (current) => current.active?.version === 'v1',
      'rolled back to v1',
    );
    expect(slotState(view, 'slot-b')).toBe('failed');
    // Reported by the Engine's event, before any health check could notice.
    expect(bed.exitReasons(started)).toContainEqual(
      expect.stringMatching(
        /^automatic rollback: active process exited: container exited with code 137/,
      ),
    );
    expect(await servedVersion(started)).toBe('v1');
  }, 60_000);

  it("reports the Engine's error when an image cannot be pulled", async () => {
    const engine = new DockerOrchestrator(
      dockerOrchestratorSchema.parse({
        type: 'docker',
        socketPath: DOCKER_SOCKET,
        image: '127.0.0.1:9/qwickapps/none:{version}',
        ports: [bed.ports[0]],
        nameTemplate: `${bed.run}-{service}-{slot}`,
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
