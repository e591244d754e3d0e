import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerOrchestrator, demultiplex, splitImage } from './docker.js';
import { KubernetesOrchestrator } from './kubernetes.js';
import { dockerOrchestratorSchema, kubernetesOrchestratorSchema } from './options.js';
import { FakeDocker } from './test-support/fake-docker.js';
import { FakeKubernetes } from './test-support/fake-kubernetes.js';

/**
 * These tests drive the Kubernetes and Docker orchestrators against a local fake that follows
 * the platform's documented API (paths, methods, bodies, status codes). The process orchestrator
 * runs for real in traffic.test.ts; CapRover's stand-in is exercised in caprover.test.ts.
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
