import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RELEASE,
  api,
  servedVersion,
  slotState,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from '../test-support/gateway.js';
import {
  deleteNamespace,
  gatewayNamespace,
  kubeCluster,
  type KubeCluster,
} from './test-support/kube-cluster.js';
import { TestKubelet } from './test-support/kubelet.js';
import { get, type Sample } from '../test-support/load.js';

/**
 * The traffic plugin driving the Kubernetes orchestrator against a real kube-apiserver and
 * kube-controller-manager (.ci/kubernetes.sh), as the service account kubernetes-rbac.yaml
 * binds. The test plays the kubelet (pod status through the `status` subresource); the real
 * Deployment and ReplicaSet controllers do the rest. There is no pod network: the kubelet runs
 * each pod's container as a local process and forwards one local port per slot to the slot's
 * ready pods, and the orchestrator's `targets` point the gateway there.
 */

const cluster = await kubeCluster();

describe.skipIf(!cluster)('traffic on Kubernetes (real kube-apiserver)', () => {
  const kube = cluster as KubeCluster;
  const namespace = `qwickapps-e2e-${randomBytes(3).toString('hex')}`;
  let directory: string;
  let kubeconfig: string;
  let kubelet: TestKubelet;
  let targets: Record<string, string>;
  let gateway: TrafficGateway;

  const startGateway = () =>
    startTrafficGateway({
      ports: [1, 2],
      statePath: path.join(directory, 'state.json'),
      service: { startTimeout: 30_000, promotionDelay: 300, promotionChecks: 2 },
      traffic: {
        rollback: { window: 10 * 60_000, automatic: true },
        orchestrator: {
          type: 'kubernetes',
          kubeconfig,
          image: 'registry.example.com/api:{version}',
          env: { VERSION: '{version}', CRASH_AFTER: '6000' },
          targets,
          pollInterval: 200,
          progressDeadlineSeconds: 4,
          stopTimeout: 10_000,
        },
      },
    });

  const deployment = async (slot: string) =>
    (await kube.admin.call('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/api-${slot}`))
      .body as { metadata: { generation: number }; spec: { replicas: number } };

  const stableSelector = async () =>
    (
      (await kube.admin.call('GET', `/api/v1/namespaces/${namespace}/services/api`)).body as {
        spec?: { selector: Record<string, string> };
      }
    ).spec?.selector['qwickapps.io/slot'];

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'kube-traffic-'));
    ({ kubeconfig } = await gatewayNamespace(kube, namespace, directory));
    kubelet = new TestKubelet(kube.admin, namespace, RELEASE);
    targets = await kubelet.start(['slot-a', 'slot-b']);
    gateway = await startGateway();
  });

  afterAll(async () => {
    await gateway?.stop();
    await kubelet?.stop();
    await deleteNamespace(kube, namespace);
    await rm(directory, { recursive: true, force: true });
  });

  it(`deploys v1 and v2, then promotes and rolls back under load without a failed request (${cluster?.version})`, async () => {
    await api(gateway, 'POST', '/deploy', { version: 'v1' });
    await waitForService(gateway, (view) => view.active?.version === 'v1', 'v1 active', 20_000);
    expect(await servedVersion(gateway)).toBe('v1');
    // The stable Service follows the route, right after it.
    await expect.poll(stableSelector, { timeout: 5_000 }).toBe('slot-a');
    await api(gateway, 'POST', '/deploy', { version: 'v2' });
    await waitForService(
      gateway,
      (view) => view.slots.some((slot) => slot.eligible),
      'v2 eligible',
      20_000,
    );
    const status = await gateway.traffic.runtime('api', 'slot-b');
    expect(status).toEqual({ state: 'running', detail: '1/1 replicas available' });
    // Its pod is on no node (the API answers 204 for its log): no output, not an error.
    expect(await gateway.traffic.logs('api', 'slot-b', 10)).toEqual([]);

    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const samples: Sample[] = [];
    let running = true;
    const worker = async (agent: http.Agent | false) => {
      for (let count = 0; running && count < 50_000; count++)
        samples.push(await get(`${gateway.url}/api/v1/hello`, agent));
    };
    const load = [
      ...Array.from({ length: 4 }, () => worker(keepAlive)),
      ...Array.from({ length: 2 }, () => worker(false)),
    ];
    const SWITCHES = 5;
    for (let index = 0; index < SWITCHES; index++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const command = index % 2 === 0 ? '/promote' : '/rollback';
      const answer = await api(gateway, 'POST', command, {});
      expect(answer.status, `${command} #${index}: ${JSON.stringify(answer.body)}`).toBe(200);
      // The stable Service followed the switch.
      await expect
        .poll(stableSelector, { timeout: 5_000 })
        .toBe(index % 2 === 0 ? 'slot-b' : 'slot-a');
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    running = false;
    await Promise.all(load);
    keepAlive.destroy();

    const failed = samples.filter((sample) => sample.error !== undefined || sample.status !== 200);
    console.log(
      `\nkubernetes ${kube.version}: ${SWITCHES} switches under load, requests ${samples.length}, failed ${failed.length}\n`,
    );
    expect(failed).toEqual([]);
    expect(samples.length).toBeGreaterThan(100);
    expect(new Set(samples.map((sample) => sample.version))).toEqual(new Set(['v1', 'v2']));
    expect(gateway.traffic.service('api').active?.version).toBe('v2');
  }, 90_000);

  it('restarts the gateway within the rollback window: routes as before, rolls nothing out again, rolls back', async () => {
    const before = { a: await deployment('slot-a'), b: await deployment('slot-b') };
    await gateway.stop();
    gateway = await startGateway();
    const view = await waitForService(
      gateway,
      (current) => current.active?.version === 'v2' && current.active.slot === 'slot-b',
      'v2 active after the restart',
    );
    expect(slotState(view, 'slot-a')).toBe('previous');
    expect(await servedVersion(gateway)).toBe('v2');
    // The same Deployments, not a new rollout.
    expect((await deployment('slot-a')).metadata.generation).toBe(before.a.metadata.generation);
    expect((await deployment('slot-b')).metadata.generation).toBe(before.b.metadata.generation);

    const answer = await api(gateway, 'POST', '/rollback', {});
    expect(answer.status).toBe(200);
    expect(await servedVersion(gateway)).toBe('v1');
    // The Service switch follows the route once the restored slot's own calls are done.
    await expect.poll(stableSelector, { timeout: 5_000 }).toBe('slot-a');
  }, 60_000);

  it('fails a candidate that never becomes ready (ProgressDeadlineExceeded) and never promotes it', async () => {
    await api(gateway, 'POST', '/deploy', { version: 'unhealthy-v3' });
    const view = await waitForService(
      gateway,
      (current) => slotState(current, 'slot-b') === 'failed',
      'unhealthy-v3 failed',
      30_000,
    );
    const history = gateway.traffic.history('api', 100);
    const v3 = history.filter((entry) => entry.version === 'unhealthy-v3');
    expect(v3.map((entry) => entry.to)).not.toContain('candidate');
    expect(v3[0]?.reason).toMatch(/could not start: .*ProgressDeadlineExceeded/);
    expect(view.active?.version).toBe('v1');
    expect(await servedVersion(gateway)).toBe('v1');
    // Failed slots are scaled down.
    await waitForService(gateway, () => true, 'settled');
    await expect
      .poll(async () => (await deployment('slot-b')).spec.replicas, { timeout: 10_000 })
      .toBe(0);
  }, 60_000);

  it('rolls back automatically when the active release falls into a crash loop', async () => {
    await api(gateway, 'POST', '/deploy', { version: 'crash-v4' });
    await waitForService(
      gateway,
      (view) => view.slots.some((slot) => slot.eligible),
      'crash-v4 eligible',
      20_000,
    );
    expect((await api(gateway, 'POST', '/promote', {})).status).toBe(200);
    expect(await servedVersion(gateway)).toBe('crash-v4');
    const view = await waitForService(
      gateway,
      (current) => current.active?.version === 'v1',
      'automatic rollback to v1',
      20_000,
    );
    expect(view.active?.slot).toBe('slot-a');
    expect(await servedVersion(gateway)).toBe('v1');
    const rollback = gateway.traffic
      .history('api', 100)
      .find((entry) => entry.version === 'v1' && entry.to === 'active' && entry.actor === 'system');
    expect(rollback?.reason).toMatch(/automatic rollback/);
    await expect.poll(stableSelector, { timeout: 5_000 }).toBe('slot-a');
  }, 60_000);
});

describe.skipIf(!cluster)('a dev slot on Kubernetes (real kube-apiserver)', () => {
  const kube = cluster as KubeCluster;
  const namespace = `qwickapps-dev-${randomBytes(3).toString('hex')}`;
  let directory: string;
  let kubelet: TestKubelet;
  let gateway: TrafficGateway;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'kube-dev-'));
    const { kubeconfig } = await gatewayNamespace(kube, namespace, directory);
    kubelet = new TestKubelet(kube.admin, namespace, RELEASE);
    const targets = await kubelet.start(['slot-a', 'slot-b']);
    gateway = await startTrafficGateway({
      ports: [1, 2],
      statePath: path.join(directory, 'state.json'),
      service: { dev: true, idleTimeout: 1_500, wakeTimeout: 15_000, startTimeout: 30_000 },
      traffic: {
        orchestrator: {
          type: 'kubernetes',
          kubeconfig,
          image: 'registry.example.com/api:{version}',
          env: { VERSION: '{version}' },
          targets,
          pollInterval: 200,
        },
      },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await kubelet?.stop();
    await deleteNamespace(kube, namespace);
    await rm(directory, { recursive: true, force: true });
  });

  const pods = async () =>
    (
      (await kube.admin.call('GET', `/api/v1/namespaces/${namespace}/pods`)).body as {
        items: unknown[];
      }
    ).items.length;

  it('scales an idle dev slot to zero and wakes it on the next request, which waits for it', async () => {
    await api(gateway, 'POST', '/deploy', { version: 'v1' });
    await waitForService(
      gateway,
      (view) => slotState(view, 'slot-a') === 'dev',
      'dev slot running',
      20_000,
    );
    expect(await servedVersion(gateway)).toBe('v1');
    await waitForService(
      gateway,
      (view) => view.slots[0].asleep === true,
      'dev slot asleep',
      10_000,
    );
    // Asleep is scaled to zero: the Deployment stays, its pods are gone.
    await expect.poll(pods, { timeout: 10_000 }).toBe(0);
    await expect
      .poll(() => gateway.traffic.runtime('api', 'slot-a'), { timeout: 5_000 })
      .toEqual({ state: 'stopped', detail: 'scaled to 0' });
    expect(await servedVersion(gateway)).toBe('v1');
    expect(await pods()).toBe(1);
    expect(gateway.traffic.history('api', 3).map((entry) => entry.reason)).toContain(
      'a request arrived while asleep',
    );
  }, 60_000);
});
