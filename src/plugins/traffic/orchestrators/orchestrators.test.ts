import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesOrchestrator } from './kubernetes.js';
import { kubernetesOrchestratorSchema } from './options.js';
import { FakeKubernetes } from './test-support/fake-kubernetes.js';

/**
 * These tests drive the Kubernetes orchestrator against a local fake that follows the
 * platform's documented API (paths, methods, bodies, status codes). The process orchestrator
 * runs for real in traffic.test.ts; CapRover's stand-in is exercised in caprover.test.ts;
 * Docker runs against a real dockerd in docker.engine.test.ts.
 */

const logger = pino({ level: 'silent' });
const layout = [{ name: 'api', slots: ['slot-a', 'slot-b'] }];
const DEPLOYMENTS = '/apis/apps/v1/namespaces/shop/deployments';
const SERVICES = '/api/v1/namespaces/shop/services';

describe('kubernetes orchestrator (REST API with fetch)', () => {
  let kube: FakeKubernetes;
  const orchestrator = (extra: Record<string, unknown> = {}) =>
    KubernetesOrchestrator.create(
      kubernetesOrchestratorSchema.parse({
        type: 'kubernetes',
        apiUrl: kube.url,
        token: 'sa-token',
        namespace: 'shop',
        image: 'registry.example.com/api:{version}',
        env: { RELEASE: '{service}-{version}' },
        ...extra,
      }),
      layout,
      logger,
    );

  beforeEach(async () => {
    kube = await new FakeKubernetes('sa-token').start();
  });
  afterEach(() => kube.close());

  it('creates a Deployment and a Service per slot, then replaces the Deployment with its resourceVersion', async () => {
    const k8s = await orchestrator();
    const { target } = await k8s.start({ service: 'api', slot: 'slot-b', version: 'v2' });
    expect(target).toBe('http://api-slot-b.shop.svc:3000');
    const deployment = kube.objects.get(`${DEPLOYMENTS}/api-slot-b`)!;
    expect(deployment.metadata.labels).toEqual({
      app: 'api',
      'qwickapps.io/slot': 'slot-b',
      'qwickapps.io/version': 'v2',
    });
    expect(deployment.spec).toMatchObject({
      replicas: 1,
      selector: { matchLabels: { app: 'api', 'qwickapps.io/slot': 'slot-b' } },
      template: {
        spec: {
          containers: [
            {
              image: 'registry.example.com/api:v2',
              env: [
                { name: 'RELEASE', value: 'api-v2' },
                { name: 'PORT', value: '3000' },
              ],
              ports: [{ containerPort: 3000 }],
            },
          ],
        },
      },
    });
    expect(kube.objects.get(`${SERVICES}/api-slot-b`)?.spec).toMatchObject({
      selector: { app: 'api', 'qwickapps.io/slot': 'slot-b' },
    });

    const versionBefore = deployment.metadata.resourceVersion;
    await k8s.start({ service: 'api', slot: 'slot-b', version: 'v3' });
    const replaced = kube.objects.get(`${DEPLOYMENTS}/api-slot-b`)!;
    expect(replaced.metadata.resourceVersion).not.toBe(versionBefore);
    expect(JSON.stringify(replaced.spec)).toContain('registry.example.com/api:v3');
    expect(kube.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([
      `${DEPLOYMENTS}/api-slot-b`,
    ]);
  });

  it('switches the stable Service selector, reading again after a 409 Conflict', async () => {
    const k8s = await orchestrator();
    await k8s.activate!({ service: 'api', slot: 'slot-a' });
    expect(kube.objects.get(`${SERVICES}/api`)?.spec).toMatchObject({
      selector: { app: 'api', 'qwickapps.io/slot': 'slot-a' },
    });
    // Another writer changes the Service between our read and our write, twice.
    kube.interfereAfterGet.set(`${SERVICES}/api`, 2);
    await k8s.activate!({ service: 'api', slot: 'slot-b' });
    expect(kube.objects.get(`${SERVICES}/api`)?.spec).toMatchObject({
      selector: { app: 'api', 'qwickapps.io/slot': 'slot-b' },
    });
    const calls = kube.requests.filter((r) => r.path === `${SERVICES}/api`).map((r) => r.method);
    expect(calls).toEqual(['GET', 'GET', 'PUT', 'GET', 'PUT', 'GET', 'PUT']);
  });

  it('gives up a selector switch that keeps conflicting, and says so', async () => {
    const k8s = await orchestrator({ conflictRetries: 2 });
    await k8s.activate!({ service: 'api', slot: 'slot-a' });
    kube.interfereAfterGet.set(`${SERVICES}/api`, 10);
    await expect(k8s.activate!({ service: 'api', slot: 'slot-b' })).rejects.toThrow(
      'switching service api to slot-b kept conflicting after 3 attempts',
    );
    expect(kube.objects.get(`${SERVICES}/api`)?.spec).toMatchObject({
      selector: { 'qwickapps.io/slot': 'slot-a' },
    });
  });

  it('scales a slot to zero with a merge patch, reports status and reads pod logs', async () => {
    const k8s = await orchestrator();
    await k8s.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(await k8s.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'starting',
      detail: '0/1 replicas ready',
    });
    kube.markReady(`${DEPLOYMENTS}/api-slot-a`);
    expect(await k8s.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'running',
      detail: '1/1 replicas ready',
    });
    kube.podLogs.set('api-slot-a-7d9f8-abcde', 'boot\nlistening on 3000\nready\n');
    expect(await k8s.logs({ service: 'api', slot: 'slot-a' }, 2)).toEqual([
      'listening on 3000',
      'ready',
    ]);
    await k8s.stop({ service: 'api', slot: 'slot-a' });
    expect(kube.requests.at(-1)).toEqual({
      method: 'PATCH',
      path: `${DEPLOYMENTS}/api-slot-a`,
      contentType: 'application/merge-patch+json',
    });
    expect(await k8s.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'stopped',
      detail: 'scaled to 0',
    });
    expect(await k8s.logs({ service: 'api', slot: 'slot-a' }, 10)).toEqual([]);
    // Stopping a slot that never existed is a no-op.
    await k8s.stop({ service: 'api', slot: 'slot-b' });
    expect(await k8s.status({ service: 'api', slot: 'slot-b' })).toEqual({
      state: 'stopped',
      detail: 'no deployment',
    });
  });

  it('names the API failure, e.g. a token the server refuses', async () => {
    const k8s = await KubernetesOrchestrator.create(
      kubernetesOrchestratorSchema.parse({
        type: 'kubernetes',
        apiUrl: kube.url,
        token: 'wrong',
        image: 'api:{version}',
      }),
      layout,
      logger,
    );
    await expect(k8s.start({ service: 'api', slot: 'slot-a', version: 'v1' })).rejects.toThrow(
      'kubernetes read Deployment failed (HTTP 401): Unauthorized',
    );
  });
});
