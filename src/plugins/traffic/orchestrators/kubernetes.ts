import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { fillTemplate, type KubernetesOrchestratorConfig } from './options.js';
import type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

interface ApiAnswer {
  status: number;
  body: unknown;
}

type Send = (
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
) => Promise<ApiAnswer>;

interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  resourceVersion?: string;
}

interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const SLOT_LABEL = 'qwickapps.io/slot';

/**
 * One Deployment (and one ClusterIP Service) per slot, through the Kubernetes REST API with
 * fetch: @kubernetes/client-node 2.x needs Node 22 (its undici 8 uses zlib's zstd), and this
 * package supports Node 20. Promotion also points the stable Service `<service>` at the active
 * slot's pods by rewriting its selector with the resourceVersion it read: a concurrent change
 * makes the API answer 409 Conflict, and the switch is read and applied again.
 */
export class KubernetesOrchestrator implements Orchestrator {
  readonly type = 'kubernetes';

  private constructor(
    private readonly config: KubernetesOrchestratorConfig,
    private readonly layout: readonly ServiceLayout[],
    private readonly logger: Logger,
    private readonly send: Send,
  ) {}

  static async create(
    config: KubernetesOrchestratorConfig,
    layout: readonly ServiceLayout[],
    logger: Logger,
  ): Promise<KubernetesOrchestrator> {
    const token =
      config.token ??
      (existsSync(config.tokenFile)
        ? (await readFile(config.tokenFile, 'utf8')).trim()
        : undefined);
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    let send: Send;
    if (config.apiUrl.startsWith('https:') && existsSync(config.caFile)) {
      // The cluster's own CA: undici's fetch takes a dispatcher that trusts it.
      const { Agent, fetch: undiciFetch } = await import('undici');
      const dispatcher = new Agent({ connect: { ca: await readFile(config.caFile, 'utf8') } });
      send = async (method, url, headers, body) => {
        const response = await undiciFetch(url, {
          method,
          headers: { ...auth, ...headers },
          body,
          dispatcher,
          signal: AbortSignal.timeout(config.requestTimeout),
        });
        return { status: response.status, body: await bodyOf(response) };
      };
    } else {
      send = async (method, url, headers, body) => {
        const response = await fetch(url, {
          method,
          headers: { ...auth, ...headers },
          body,
          signal: AbortSignal.timeout(config.requestTimeout),
        });
        return { status: response.status, body: await bodyOf(response) };
      };
    }
    return new KubernetesOrchestrator(config, layout, logger, send);
  }

  async start(release: ReleaseSpec): Promise<{ target: string }> {
    const name = this.slotName(release);
    const labels = { app: release.service, [SLOT_LABEL]: release.slot };
    const values = {
      ...release,
      namespace: this.config.namespace,
      port: this.config.containerPort,
    };
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
        namespace: this.config.namespace,
        labels: { ...labels, 'qwickapps.io/version': release.version },
      },
      spec: {
        replicas: this.config.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
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
    await this.apply(`/apis/apps/v1/namespaces/${this.config.namespace}/deployments`, deployment);
    const service: KubernetesObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: this.config.namespace, labels },
      spec: {
        selector: labels,
        ports: [{ port: this.config.containerPort, targetPort: this.config.containerPort }],
      },
    };
    await this.createIfMissing(`/api/v1/namespaces/${this.config.namespace}/services`, service);
    this.logger.info(
      { deployment: name, image, namespace: this.config.namespace },
      'kubernetes deployment applied',
    );
    return { target: fillTemplate(this.config.targetTemplate, values) };
  }

  async stop(ref: SlotRef): Promise<void> {
    const answer = await this.call(
      'PATCH',
      this.deploymentPath(ref),
      { spec: { replicas: 0 } },
      'application/merge-patch+json',
    );
    if (answer.status !== 200 && answer.status !== 404) throw failure('scale to 0', answer);
  }

  async status(ref: SlotRef): Promise<SlotRuntime> {
    const answer = await this.call('GET', this.deploymentPath(ref));
    if (answer.status === 404) return { state: 'stopped', detail: 'no deployment' };
    if (answer.status !== 200) throw failure('read deployment', answer);
    const deployment = answer.body as KubernetesObject;
    const wanted = Number(deployment.spec?.replicas ?? 0);
    const ready = Number(deployment.status?.readyReplicas ?? 0);
    if (wanted === 0) return { state: 'stopped', detail: 'scaled to 0' };
    return {
      state: ready >= wanted ? 'running' : 'starting',
      detail: `${ready}/${wanted} replicas ready`,
    };
  }

  async logs(ref: SlotRef, limit: number): Promise<string[]> {
    const selector = encodeURIComponent(`app=${ref.service},${SLOT_LABEL}=${ref.slot}`);
    const pods = await this.call(
      'GET',
      `/api/v1/namespaces/${this.config.namespace}/pods?labelSelector=${selector}`,
    );
    if (pods.status !== 200) throw failure('list pods', pods);
    const pod = (pods.body as { items?: KubernetesObject[] }).items?.[0];
    if (!pod) return [];
    const log = await this.call(
      'GET',
      `/api/v1/namespaces/${this.config.namespace}/pods/${pod.metadata.name}/log?tailLines=${limit}`,
    );
    if (log.status !== 200) throw failure('read pod log', log);
    return String(log.body)
      .split('\n')
      .filter((line) => line !== '');
  }

  /** Points the stable Service `<service>` at the slot's pods, with optimistic concurrency. */
  async activate(ref: SlotRef): Promise<void> {
    if (!this.config.switchService) return;
    const path = `/api/v1/namespaces/${this.config.namespace}/services/${ref.service}`;
    const selector = { app: ref.service, [SLOT_LABEL]: ref.slot };
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      const current = await this.call('GET', path);
      if (current.status === 404) {
        const created = await this.call(
          'POST',
          `/api/v1/namespaces/${this.config.namespace}/services`,
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: ref.service, namespace: this.config.namespace },
            spec: {
              selector,
              ports: [{ port: this.config.containerPort, targetPort: this.config.containerPort }],
            },
          },
        );
        if (created.status === 201) return;
        if (created.status !== 409) throw failure('create service', created);
        continue;
      }
      if (current.status !== 200) throw failure('read service', current);
      const service = current.body as KubernetesObject;
      // resourceVersion stays as read: the API refuses the write if anyone changed it since.
      const updated = { ...service, spec: { ...service.spec, selector } };
      const answer = await this.call('PUT', path, updated);
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

  onExit(): void {
    // Kubernetes restarts crashed pods itself; failures show in the health checks.
  }

  async close(): Promise<void> {}

  private slotName(ref: SlotRef): string {
    return `${ref.service}-${ref.slot}`;
  }

  private deploymentPath(ref: SlotRef): string {
    return `/apis/apps/v1/namespaces/${this.config.namespace}/deployments/${this.slotName(ref)}`;
  }

  /** Creates the object, or replaces it with the resourceVersion just read (retried on 409). */
  private async apply(collection: string, object: KubernetesObject): Promise<void> {
    const path = `${collection}/${object.metadata.name}`;
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      const current = await this.call('GET', path);
      if (current.status === 404) {
        const created = await this.call('POST', collection, object);
        if (created.status === 201) return;
        if (created.status !== 409) throw failure(`create ${object.kind}`, created);
        continue;
      }
      if (current.status !== 200) throw failure(`read ${object.kind}`, current);
      const resourceVersion = (current.body as KubernetesObject).metadata.resourceVersion;
      const replaced = await this.call('PUT', path, {
        ...object,
        metadata: { ...object.metadata, resourceVersion },
      });
      if (replaced.status === 200) return;
      if (replaced.status !== 409) throw failure(`replace ${object.kind}`, replaced);
    }
    throw new Error(
      `${object.kind} ${object.metadata.name} kept conflicting after ${this.config.conflictRetries + 1} attempts`,
    );
  }

  private async createIfMissing(collection: string, object: KubernetesObject): Promise<void> {
    const created = await this.call('POST', collection, object);
    if (created.status !== 201 && created.status !== 409)
      throw failure(`create ${object.kind}`, created);
  }

  private call(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<ApiAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    return this.send(
      method,
      `${this.config.apiUrl.replace(/\/$/, '')}${path}`,
      headers,
      body === undefined ? undefined : JSON.stringify(body),
    );
  }
}

async function bodyOf(response: {
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}): Promise<unknown> {
  const text = await response.text();
  if (!(response.headers.get('content-type') ?? '').includes('json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The API's own Status message when it sent one. */
function failure(action: string, answer: ApiAnswer): Error {
  const message =
    (answer.body as { message?: string } | undefined)?.message ?? String(answer.body).slice(0, 200);
  return new Error(`kubernetes ${action} failed (HTTP ${answer.status}): ${message}`);
}
