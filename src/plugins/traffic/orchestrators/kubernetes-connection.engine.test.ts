import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE } from '../test-support/gateway.js';
import { KubernetesApi } from './kubernetes-api.js';
import { resolveConnection } from './kubernetes-connection.js';
import { KubernetesOrchestrator } from './kubernetes.js';
import { kubernetesOrchestratorSchema, type OrchestratorOptions } from './options.js';
import {
  deleteNamespace,
  eventually,
  gatewayNamespace,
  kubeCluster,
  type KubeCluster,
} from './test-support/kube-cluster.js';
import { TestKubelet } from './test-support/kubelet.js';

/**
 * The Kubernetes orchestrator's connection, credentials and crash reporting against a real
 * kube-apiserver and kube-controller-manager (.ci/kubernetes.sh); every call runs with the token
 * of the service account kubernetes-rbac.yaml binds, so the manifest is proven sufficient.
 */

const cluster = await kubeCluster();
const logger = pino({ level: 'silent' });

describe.skipIf(!cluster)('kubernetes orchestrator connection (real kube-apiserver)', () => {
  const kube = cluster as KubeCluster;
  const namespace = `qwickapps-conn-${randomBytes(3).toString('hex')}`;
  let directory: string;
  let gateway: { kubeconfig: string; token: string };
  let kubelet: TestKubelet;

  const orchestrator = (options: Partial<OrchestratorOptions>, log = logger) =>
    KubernetesOrchestrator.create(
      kubernetesOrchestratorSchema.parse({
        type: 'kubernetes',
        image: 'release:{version}',
        pollInterval: 200,
        ...options,
      }),
      [{ name: 'api', slots: ['slot-a', 'slot-b'] }],
      log,
    );

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'kube-conn-'));
    gateway = await gatewayNamespace(kube, namespace, directory);
    kubelet = new TestKubelet(kube.admin, namespace, RELEASE, 500);
    await kubelet.start([]);
  });

  afterAll(async () => {
    await kubelet?.stop();
    await deleteNamespace(kube, namespace);
    await rm(directory, { recursive: true, force: true });
  });

  it(`reads the kubeconfig's current context: server, CA, namespace, and a token or a client certificate (${cluster?.version})`, async () => {
    const byToken = await orchestrator({ kubeconfig: gateway.kubeconfig });
    expect(await byToken.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'stopped',
      detail: 'no deployment',
    });
    await byToken.close();

    // KUBECONFIG as a list: the first file naming the current context wins.
    const byCertificate = await resolveConnection(
      kubernetesOrchestratorSchema.parse({ type: 'kubernetes', image: 'x', namespace }),
      { KUBECONFIG: [kube.kubeconfig, gateway.kubeconfig].join(path.delimiter) },
    );
    expect(byCertificate.token).toBeUndefined();
    expect(byCertificate.source).toBe('KUBECONFIG (context qwickapps-test)');
    const api = new KubernetesApi(byCertificate, 5_000);
    const answer = await api.call('GET', `/api/v1/namespaces/${namespace}/serviceaccounts`);
    await api.close();
    expect(answer.status).toBe(200);
  });

  it("runs in a pod: the service account's namespace file, its CA, and a token re-read when it rotates", async () => {
    const mount = path.join(directory, 'serviceaccount');
    await mkdir(mount);
    await copyFile(kube.caFile, path.join(mount, 'ca.crt'));
    await writeFile(path.join(mount, 'namespace'), namespace);
    await writeFile(path.join(mount, 'token'), gateway.token);
    const connection = await resolveConnection(
      kubernetesOrchestratorSchema.parse({
        type: 'kubernetes',
        image: 'x',
        tokenFile: path.join(mount, 'token'),
        caFile: path.join(mount, 'ca.crt'),
      }),
      { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(kube.apiUrl).port },
    );
    expect(connection.namespace).toBe(namespace);
    expect(connection.source).toBe('in-cluster service account');
    const api = new KubernetesApi(connection, 5_000);
    const deployments = `/apis/apps/v1/namespaces/${namespace}/deployments`;
    expect((await api.call('GET', `${deployments}/none`)).status).toBe(404);

    // The kubelet swaps the file: the next call sends the new token.
    await writeFile(path.join(mount, 'token.new'), 'revoked-token');
    await rename(path.join(mount, 'token.new'), path.join(mount, 'token'));
    expect((await api.call('GET', `${deployments}/none`)).status).toBe(401);
    await writeFile(path.join(mount, 'token'), gateway.token);
    expect((await api.call('GET', `${deployments}/none`)).status).toBe(404);

    // The Role is the namespace's only: elsewhere, and for secrets, the account is refused.
    expect((await api.call('GET', '/api/v1/namespaces/default/pods')).status).toBe(403);
    expect((await api.call('GET', `/api/v1/namespaces/${namespace}/secrets`)).status).toBe(403);
    await api.close();
  });

  it('reports a rolled-out slot that falls into a crash loop, with the reason the pod gives', async () => {
    const k8s = await orchestrator({
      kubeconfig: gateway.kubeconfig,
      env: { VERSION: '{version}', CRASH_AFTER: '1500' },
    });
    const exits: string[] = [];
    k8s.onExit((ref, message) => exits.push(`${ref.slot}: ${message}`));
    const ref = { service: 'api', slot: 'slot-a', version: 'crash-v1' };
    await k8s.start(ref);
    expect((await k8s.status(ref)).state).toBe('running');
    // The pod is on no node: its log answers 204, which is no output, not an error.
    expect(await k8s.logs(ref, 10)).toEqual([]);
    await eventually(async () => (exits.length > 0 ? true : undefined), 'a crash report', 10_000);
    expect(exits[0]).toMatch(
      /^slot-a: 0\/1 replicas available; pod api-slot-a-.* CrashLoopBackOff/,
    );
    await k8s.stop(ref);
    expect(await k8s.status(ref)).toEqual({ state: 'stopped', detail: 'scaled to 0' });
    await k8s.close();
  });

  it('switches the stable Service with the resourceVersion it read, reading again after a 409 Conflict', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'warn' },
      new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }),
    );
    const k8s = await orchestrator({ kubeconfig: gateway.kubeconfig, conflictRetries: 2 }, log);
    await k8s.activate({ service: 'api', slot: 'slot-a' });
    const path = `/api/v1/namespaces/${namespace}/services/api`;
    // Another writer changes the Service between the orchestrator's read and its write, twice:
    // the real API server refuses both stale writes, and the third attempt goes through.
    const api = (k8s as unknown as { api: KubernetesApi }).api;
    const call = api.call.bind(api);
    let interfere = 2;
    let writes = 0;
    api.call = async (method, target, ...rest) => {
      const answer = await call(method, target, ...rest);
      if (method === 'GET' && target === path && interfere-- > 0)
        await kube.admin.call(
          'PATCH',
          path,
          { metadata: { labels: { touched: String(++writes) } } },
          'application/merge-patch+json',
        );
      return answer;
    };
    await k8s.activate({ service: 'api', slot: 'slot-b' });
    const service = (await kube.admin.call('GET', path)).body as {
      metadata: { labels: Record<string, string> };
      spec: { selector: Record<string, string> };
    };
    expect(service.spec.selector).toEqual({ app: 'api', 'qwickapps.io/slot': 'slot-b' });
    expect(service.metadata.labels.touched).toBe('2');
    expect(lines.filter((line) => line.includes('409 Conflict'))).toHaveLength(2);

    // A writer that never stops: the switch gives up after conflictRetries and says so.
    interfere = Infinity;
    await expect(k8s.activate({ service: 'api', slot: 'slot-a' })).rejects.toThrow(
      'switching service api to slot-a kept conflicting after 3 attempts',
    );
    await k8s.close();
  });
});
