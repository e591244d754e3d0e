import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaproverOrchestrator } from './caprover.js';
import { KubernetesOrchestrator } from './kubernetes.js';
import { caproverOrchestratorSchema, kubernetesOrchestratorSchema } from './options.js';
import { FakeCaprover } from './test-support/fake-caprover.js';
import { FakeKubernetes } from './test-support/fake-kubernetes.js';

/**
 * Kubernetes and CapRover: these tests drive each orchestrator against a local fake that
 * follows the platform's documented API (paths, methods, bodies, status codes). The process
 * orchestrator runs for real in traffic.test.ts, Docker against a real dockerd in
 * docker.engine.test.ts.
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
