import type { Logger } from 'pino';
import { failure, KubernetesApi } from './kubernetes-api.js';
import { resolveConnection } from './kubernetes-connection.js';
import {
  podFailure,
  rolloutOf,
  type DeploymentStatusView,
  type PodStatusView,
} from './kubernetes-rollout.js';
import { fillTemplate, type KubernetesOrchestratorConfig } from './options.js';
import type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const SLOT_LABEL = 'qwickapps.io/slot';
const VERSION_LABEL = 'qwickapps.io/version';

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * One Deployment (and one ClusterIP Service) per slot. `start` resolves once the rollout is
 * complete, so the gateway never routes to a slot whose pods are not all updated and available;
 * a rollout Kubernetes marks `ProgressDeadlineExceeded` fails the start. Running slots are read
 * back every `pollInterval`, and a crash loop is reported as an exit. Promotion also points the
 * stable Service `<service>` at the active slot's pods, written with the resourceVersion it read
 * and read again after a 409 Conflict. The RBAC it needs: kubernetes-rbac.yaml beside this file.
 */
export class KubernetesOrchestrator implements Orchestrator {
  readonly type = 'kubernetes';
  private readonly listeners: ((ref: SlotRef, message: string) => void)[] = [];
  /** Slots whose rollout completed and that have not crashed or been stopped since. */
  private readonly watched = new Map<string, SlotRef>();
  private poller?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly config: KubernetesOrchestratorConfig,
    private readonly layout: readonly ServiceLayout[],
    private readonly logger: Logger,
    private readonly api: KubernetesApi,
  ) {}

  static async create(
    config: KubernetesOrchestratorConfig,
    layout: readonly ServiceLayout[],
    logger: Logger,
  ): Promise<KubernetesOrchestrator> {
    const connection = await resolveConnection(config);
    logger.info(
      { apiUrl: connection.apiUrl, namespace: connection.namespace, source: connection.source },
      'kubernetes orchestrator connected',
    );
    return new KubernetesOrchestrator(
      config,
      layout,
      logger,
      new KubernetesApi(connection, config.requestTimeout),
    );
  }

  private get namespace(): string {
    return this.api.namespace;
  }

  async start(release: ReleaseSpec, signal?: AbortSignal): Promise<{ target: string }> {
    const name = this.slotName(release);
    this.watched.delete(name);
    const labels = { app: release.service, [SLOT_LABEL]: release.slot };
    const values = { ...release, namespace: this.namespace, port: this.config.containerPort };
    const image = fillTemplate(
      this.layout.find((entry) => entry.name === release.service)?.image ?? this.config.image,
      values,
    );
    const env = Object.entries(this.config.env).map(([key, value]) => ({
      name: key,
      value: fillTemplate(value, values),
    }));
    env.push({ name: 'PORT', value: String(this.config.containerPort) });
    const deployment: KubernetesObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { ...labels, [VERSION_LABEL]: release.version },
      },
      spec: {
        replicas: this.config.replicas,
        progressDeadlineSeconds: this.config.progressDeadlineSeconds,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, [VERSION_LABEL]: release.version } },
          spec: {
            containers: [
              {
                name: release.service,
                image,
                env,
                ports: [{ containerPort: this.config.containerPort }],
              },
            ],
          },
        },
      },
    };
    const applied = await this.apply(this.collection('deployments'), deployment);
    await this.createIfMissing(this.collection('services'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: this.namespace, labels },
      spec: { selector: labels, ports: [this.servicePort()] },
    });
    this.logger.info(
      { deployment: name, image, namespace: this.namespace, generation: applied },
      'kubernetes deployment applied; waiting for its rollout',
    );
    await this.waitForRollout(release, applied, signal);
    this.watched.set(name, { service: release.service, slot: release.slot });
    this.watch();
    return {
      target: this.config.targets[release.slot] ?? fillTemplate(this.config.targetTemplate, values),
    };
  }

  async stop(ref: SlotRef): Promise<void> {
    this.watched.delete(this.slotName(ref));
    const answer = await this.api.call(
      'PATCH',
      this.deploymentPath(ref),
      { spec: { replicas: 0 } },
      'application/merge-patch+json',
    );
    if (answer.status === 404) return;
    if (answer.status !== 200) throw failure('scale to 0', answer);
    const deadline = Date.now() + this.config.stopTimeout;
    while (!this.closed && Date.now() < deadline) {
      const current = await this.readDeployment(ref);
      if (!current || (current.status?.replicas ?? 0) === 0) return;
      await sleep(this.config.pollInterval);
    }
    this.logger.warn(
      { deployment: this.slotName(ref), stopTimeout: this.config.stopTimeout },
      'kubernetes pods still terminating after the stop timeout',
    );
  }

  async status(ref: SlotRef): Promise<SlotRuntime> {
    const deployment = await this.readDeployment(ref);
    if (!deployment) return { state: 'stopped', detail: 'no deployment' };
    const { state, detail } = rolloutOf(deployment);
    return { state, detail };
  }

  async logs(ref: SlotRef, limit: number): Promise<string[]> {
    const pod = (await this.pods(ref))[0];
    if (!pod) return [];
    const log = await this.api.call(
      'GET',
      `/api/v1/namespaces/${this.namespace}/pods/${pod.metadata.name}/log?tailLines=${limit}`,
    );
    // 204: the pod is not on a node yet, so it has no output.
    if (log.status === 204) return [];
    if (log.status !== 200) throw failure('read pod log', log);
    return String(log.body)
      .split('\n')
      .filter((line) => line !== '');
  }

  /** Points the stable Service `<service>` at the slot's pods, with optimistic concurrency. */
  async activate(ref: SlotRef): Promise<void> {
    if (!this.config.switchService) return;
    const path = `${this.collection('services')}/${ref.service}`;
    const selector = { app: ref.service, [SLOT_LABEL]: ref.slot };
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      const current = await this.api.call('GET', path);
      if (current.status === 404) {
        const created = await this.api.call('POST', this.collection('services'), {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: ref.service, namespace: this.namespace },
          spec: { selector, ports: [this.servicePort()] },
        });
        if (created.status === 201) return;
        if (created.status !== 409) throw failure('create service', created);
        continue;
      }
      if (current.status !== 200) throw failure('read service', current);
      const service = current.body as KubernetesObject;
      // resourceVersion stays as read: the API refuses the write if anyone changed it since.
      const answer = await this.api.call('PUT', path, {
        ...service,
        spec: { ...service.spec, selector },
      });
      if (answer.status === 200) {
        this.logger.info(
          { service: ref.service, slot: ref.slot, attempt },
          'kubernetes service selector switched',
        );
        return;
      }
      if (answer.status !== 409) throw failure('switch service selector', answer);
      this.logger.warn(
        { service: ref.service, attempt },
        'service changed concurrently (409 Conflict); reading it again',
      );
    }
    throw new Error(
      `switching service ${ref.service} to ${ref.slot} kept conflicting after ${this.config.conflictRetries + 1} attempts`,
    );
  }

  onExit(listener: (ref: SlotRef, message: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.poller);
    await this.api.close();
  }

  /** Waits until the controller reports the generation just written fully rolled out. */
  private async waitForRollout(
    ref: SlotRef,
    generation: number,
    signal?: AbortSignal,
  ): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error('the gateway is stopping');
      if (signal?.aborted) throw new Error(`the start of ${this.slotName(ref)} was superseded`);
      const deployment = await this.readDeployment(ref);
      if (!deployment) throw new Error(`deployment ${this.slotName(ref)} disappeared`);
      const rollout = rolloutOf(deployment);
      if ((deployment.status?.observedGeneration ?? 0) >= generation) {
        if (rollout.complete) return;
        if (rollout.failed)
          throw new Error(
            `deployment ${this.slotName(ref)}: ${rollout.detail ?? 'rollout failed'}`,
          );
      }
      await sleep(this.config.pollInterval, signal);
    }
  }

  /** Reads back every rolled-out slot; a broken pod while replicas are missing is an exit. */
  private watch(): void {
    if (this.poller || this.closed) return;
    const round = async () => {
      for (const [name, ref] of [...this.watched]) {
        const deployment = await this.readDeployment(ref);
        if (!this.watched.has(name)) continue;
        const wanted = Number(deployment?.spec?.replicas ?? 0);
        const available = Number(deployment?.status?.availableReplicas ?? 0);
        if (!deployment || wanted === 0 || available >= wanted) continue;
        const broken = (await this.pods(ref)).map(podFailure).find(Boolean);
        if (!broken || !this.watched.has(name)) continue;
        this.watched.delete(name);
        const message = `${available}/${wanted} replicas available; ${broken}`;
        this.logger.warn({ deployment: name, message }, 'kubernetes slot is crashing');
        for (const listener of this.listeners) listener(ref, message);
      }
    };
    const schedule = () => {
      this.poller = setTimeout(() => {
        round()
          .catch((error: unknown) =>
            this.logger.warn({ err: error }, 'kubernetes slots could not be read back'),
          )
          .finally(() => !this.closed && schedule());
      }, this.config.pollInterval);
      this.poller.unref();
    };
    schedule();
  }

  private async readDeployment(
    ref: SlotRef,
  ): Promise<(KubernetesObject & DeploymentStatusView) | undefined> {
    const answer = await this.api.call('GET', this.deploymentPath(ref));
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw failure('read Deployment', answer);
    return answer.body as KubernetesObject & DeploymentStatusView;
  }

  private async pods(ref: SlotRef): Promise<PodStatusView[]> {
    const selector = encodeURIComponent(`app=${ref.service},${SLOT_LABEL}=${ref.slot}`);
    const pods = await this.api.call('GET', `${this.collection('pods')}?labelSelector=${selector}`);
    if (pods.status !== 200) throw failure('list pods', pods);
    return (pods.body as { items?: PodStatusView[] }).items ?? [];
  }

  private servicePort() {
    return { port: this.config.containerPort, targetPort: this.config.containerPort };
  }

  private collection(kind: 'deployments' | 'services' | 'pods'): string {
    return kind === 'deployments'
      ? `/apis/apps/v1/namespaces/${this.namespace}/deployments`
      : `/api/v1/namespaces/${this.namespace}/${kind}`;
  }

  private slotName(ref: SlotRef): string {
    return `${ref.service}-${ref.slot}`;
  }

  private deploymentPath(ref: SlotRef): string {
    return `${this.collection('deployments')}/${this.slotName(ref)}`;
  }

  /**
   * Creates the object, or replaces it with the resourceVersion just read (retried on 409);
   * answers the generation written. `status` is the controllers' to write: a PUT never sets it.
   */
  private async apply(collection: string, object: KubernetesObject): Promise<number> {
    const path = `${collection}/${object.metadata.name}`;
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      const current = await this.api.call('GET', path);
      const written =
        current.status === 404
          ? await this.api.call('POST', collection, object)
          : current.status === 200
            ? await this.api.call(
                'PUT',
                path,
                replacement(object, current.body as KubernetesObject),
              )
            : current;
      if (written.status === 200 || written.status === 201)
        return (written.body as KubernetesObject).metadata.generation ?? 1;
      if (written.status !== 409) throw failure(`write ${object.kind}`, written);
    }
    throw new Error(
      `${object.kind} ${object.metadata.name} kept conflicting after ${this.config.conflictRetries + 1} attempts`,
    );
  }

  private async createIfMissing(collection: string, object: KubernetesObject): Promise<void> {
    const created = await this.api.call('POST', collection, object);
    if (created.status !== 201 && created.status !== 409)
      throw failure(`create ${object.kind}`, created);
  }
}

/**
 * The object to PUT over `current`: its resourceVersion (a concurrent write makes the API
 * answer 409), and the annotations others keep there (the controller's revision): a Deployment
 * whose annotations change gets a new generation, which would read as a new rollout.
 */
function replacement(object: KubernetesObject, current: KubernetesObject): KubernetesObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      annotations: { ...current.metadata.annotations, ...object.metadata.annotations },
      resourceVersion: current.metadata.resourceVersion,
    },
  };
}
