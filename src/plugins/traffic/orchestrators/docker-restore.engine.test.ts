import pino from 'pino';
import { expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/http.js';
import { api, servedVersion, slotState, waitForService } from '../test-support/gateway.js';
import { DockerOrchestrator } from './docker.js';
import { dockerOrchestratorSchema } from './options.js';
import {
  DOCKER_SOCKET,
  TEST_REGISTRY,
  engineCall,
  pushFreshImage,
} from './test-support/docker-engine.js';
import { dockerSuite } from './test-support/docker-testbed.js';

/**
 * The docker orchestrator on a real dockerd, across gateway restarts (containers outlive the
 * gateway and are adopted), for dev slots that sleep and wake, and pulling from a registry.
 */

await dockerSuite(
  'docker orchestrator on a real Docker Engine: restarts, dev slots, registries',
  (bed) => {
    it('adopts the running containers when the gateway restarts within the rollback window', async () => {
      const first = await bed.gateway();
      await bed.activeV1CandidateV2(first);
      expect((await api(first, 'POST', '/promote', {})).status).toBe(200);
      const before = { a: (await bed.container('slot-a'))!, b: (await bed.container('slot-b'))! };
      await bed.stopGateway(first);
      // The containers outlive the gateway.
      expect((await bed.container('slot-a'))?.State.Running).toBe(true);
      expect((await bed.container('slot-b'))?.State.Running).toBe(true);

      // Only the exit can fail the held release below: failing health checks would take far longer.
      const second = await bed.gateway({ service: { failureThreshold: 1_000 } });
      expect(second.traffic.service('api').active?.version).toBe('v2');
      await waitFor(async () => (await servedVersion(second)) === 'v2', 'v2 served', 10_000);
      for (const [slot, was] of [
        ['slot-a', before.a],
        ['slot-b', before.b],
      ] as const) {
        const now = (await bed.container(slot))!;
        expect(now.Id, `${slot} adopted, not recreated`).toBe(was.Id);
        expect(now.State.StartedAt).toBe(was.State.StartedAt);
      }
      expect((await api(second, 'POST', '/rollback', {})).status).toBe(200);
      expect(await servedVersion(second)).toBe('v1');
      // Adopted containers are watched like the ones it started: the held v2 crashing fails it.
      await bed.crash('slot-b');
      await waitForService(second, (view) => slotState(view, 'slot-b') === 'failed', 'v2 failed');
      expect(bed.exitReasons(second)).toContain('process exited: container exited with code 137');
      expect(await servedVersion(second)).toBe('v1');
    }, 60_000);

    it('starts again an active container that died while the gateway was down', async () => {
      const first = await bed.gateway();
      await bed.deployed(first, 'v1');
      await waitForService(first, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
      await bed.stopGateway(first);
      const crashed = await bed.crash('slot-a');
      await waitFor(
        async () => (await bed.container('slot-a'))?.State.Running === false,
        'the container dead',
      );
      const second = await bed.gateway();
      await waitFor(async () => (await servedVersion(second)) === 'v1', 'v1 served', 10_000);
      const now = (await bed.container('slot-a'))!;
      expect(now.Id).not.toBe(crashed);
      expect(now.State.Running).toBe(true);
    }, 60_000);

    it('stops an idle dev slot and wakes it on the next request', async () => {
      const started = await bed.gateway({
        service: { dev: true, idleTimeout: 1_500, wakeTimeout: 20_000 },
      });
      await bed.deployed(started, 'v1');
      await waitForService(started, (view) => slotState(view, 'slot-a') === 'dev', 'v1 dev');
      expect(await servedVersion(started)).toBe('v1');
      await waitForService(
        started,
        (view) => view.slots.some((slot) => slot.asleep),
        'asleep',
        10_000,
      );
      await waitFor(
        async () => (await bed.container('slot-a'))?.State.Running === false,
        'the container stopped',
        10_000,
      );
      expect(await servedVersion(started)).toBe('v1');
      expect((await bed.container('slot-a'))?.State.Running).toBe(true);
    }, 60_000);

    it('pulls an image by digest from a registry on a port, with the credentials it needs', async () => {
      const image = `${TEST_REGISTRY.repository}@${await pushFreshImage(bed.run)}`;
      expect((await engineCall('GET', `/images/${image}/json`)).status).toBe(404);
      const settings = {
        type: 'docker' as const,
        socketPath: DOCKER_SOCKET,
        image,
        ports: [bed.ports[0]],
        nameTemplate: `${bed.run}-{service}-{slot}`,
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

      const started = await bed.gateway({
        traffic: {
          orchestrator: {
            ...settings,
            ports: bed.ports,
            env: { VERSION: '{version}' },
            registryAuth: { username: TEST_REGISTRY.username, password: TEST_REGISTRY.password },
          },
        },
      });
      await bed.deployed(started, 'v1');
      await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
      expect((await bed.container('slot-a'))?.Config.Image).toBe(image);
      expect(await servedVersion(started)).toBe('v1');
      // The password is never logged.
      expect(JSON.stringify(started.logs)).not.toContain(TEST_REGISTRY.password);
    }, 60_000);
  },
);
