import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { Logger } from 'pino';
import { DockerEngine, engineMessage, type EngineAnswer } from './docker-engine.js';
import { demultiplex, registryAuthHeader, registryOf, splitImage } from './docker-format.js';
import { fillTemplate, type DockerOrchestratorConfig } from './options.js';
import { slotKey, slotPorts } from './ports.js';
import type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

export { demultiplex, splitImage } from './docker-format.js';

const LABEL = {
  service: 'io.qwickapps.service',
  slot: 'io.qwickapps.slot',
  version: 'io.qwickapps.version',
  /** A hash of everything the container was created with: a running one that matches is kept. */
  spec: 'io.qwickapps.spec',
} as const;

interface Inspected {
  Id: string;
  State: { Status: string; Running: boolean; ExitCode: number; Pid: number; OOMKilled?: boolean };
  Config: { Labels: Record<string, string> | null };
}

interface DieEvent {
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * One container per slot through the Docker Engine API over its unix socket, at the API version
 * the Engine offers. Starting a slot keeps a running container created from the same spec (a
 * gateway restarted within the rollback window adopts its releases) and otherwise replaces it:
 * pull when needed, create with the port published on a loopback host port, start. Containers
 * have no restart policy: their exits are followed on the Engine's event stream and reported,
 * and the traffic rules decide between a restart in place and a rollback. Stopping stops the
 * container (kept for its logs until the slot is deployed again).
 */
export class DockerOrchestrator implements Orchestrator {
  readonly type = 'docker';
  private readonly ports: Map<string, number>;
  private readonly engine: DockerEngine;
  /** The container each slot runs, by slot key: only its own exits are reported. */
  private readonly watched = new Map<string, { ref: SlotRef; id: string }>();
  private readonly exitListeners: ((ref: SlotRef, message: string) => void)[] = [];
  private events?: http.ClientRequest;
  private following?: Promise<void>;
  private outage = false;
  private closed = false;

  constructor(
    private readonly config: DockerOrchestratorConfig,
    private readonly layout: readonly ServiceLayout[],
    private readonly logger: Logger,
  ) {
    this.ports = slotPorts(layout, config.ports);
    this.engine = new DockerEngine(config);
  }

  async start(release: ReleaseSpec): Promise<{ target: string }> {
    const key = slotKey(release);
    const hostPort = this.ports.get(key);
    if (hostPort === undefined) throw new Error(`Unknown slot ${key}.`);
    const ref = { service: release.service, slot: release.slot };
    const name = this.containerName(release);
    const target = `http://${this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host}:${hostPort}`;
    this.watched.delete(key);
    // Exits are followed before anything starts, so none is missed.
    await this.followEvents();
    const { image, body } = this.containerSpec(release, hostPort);
    const current = await this.inspect(name);
    if (current?.State.Running && current.Config.Labels?.[LABEL.spec] === body.Labels[LABEL.spec]) {
      this.watched.set(key, { ref, id: current.Id });
      // It could have died between the two looks; then its exit event came before the watch.
      const again = await this.inspect(current.Id);
      if (again?.State.Running) {
        this.logger.info(
          { container: name, id: current.Id.slice(0, 12), image },
          'container adopted',
        );
        return { target };
      }
      this.watched.delete(key);
    }
    await this.ensureImage(image);
    const removed = await this.engine.request('DELETE', `/containers/${name}?force=true`);
    if (removed.status !== 204 && removed.status !== 404) throw this.failure('remove', removed);
    const created = await this.engine.request(
      'POST',
      `/containers/create?name=${encodeURIComponent(name)}`,
      body,
    );
    if (created.status !== 201) throw this.failure('create', created);
    const { Id } = JSON.parse(created.body.toString('utf8')) as { Id: string };
    this.watched.set(key, { ref, id: Id });
    const started = await this.engine.request('POST', `/containers/${Id}/start`);
    if (started.status !== 204 && started.status !== 304) {
      this.watched.delete(key);
      throw this.failure('start', started);
    }
    this.logger.info(
      { container: name, id: Id.slice(0, 12), image, hostPort },
      'container started',
    );
    return { target };
  }

  async stop(ref: SlotRef): Promise<void> {
    // Forgotten first: the exit this stop causes is not a crash.
    this.watched.delete(slotKey(ref));
    const answer = await this.engine.request(
      'POST',
      `/containers/${this.containerName(ref)}/stop?t=${this.config.stopTimeout}`,
    );
    if (answer.status !== 204 && answer.status !== 304 && answer.status !== 404)
      throw this.failure('stop', answer);
  }

  async status(ref: SlotRef): Promise<SlotRuntime> {
    const container = await this.inspect(this.containerName(ref));
    if (!container) return { state: 'stopped', detail: 'no container' };
    const { State } = container;
    if (State.Running) return { state: 'running', pid: State.Pid, detail: State.Status };
    const oom = State.OOMKilled ? ', out of memory' : '';
    return {
      state: State.Status === 'exited' ? 'exited' : 'stopped',
      detail: `${State.Status}, exit code ${State.ExitCode}${oom}`,
    };
  }

  async logs(ref: SlotRef, limit: number): Promise<string[]> {
    const answer = await this.engine.request(
      'GET',
      `/containers/${this.containerName(ref)}/logs?stdout=1&stderr=1&tail=${limit}`,
    );
    if (answer.status === 404) return [];
    if (answer.status !== 200) throw this.failure('logs', answer);
    return demultiplex(answer.body).slice(-limit);
  }

  onExit(listener: (ref: SlotRef, message: string) => void): void {
    this.exitListeners.push(listener);
  }

  /** Containers are not the gateway's children: they keep running, only the watch ends. */
  async close(): Promise<void> {
    this.closed = true;
    this.events?.destroy();
  }

  private containerName(ref: SlotRef): string {
    return fillTemplate(this.config.nameTemplate, { service: ref.service, slot: ref.slot });
  }

  private containerSpec(release: ReleaseSpec, hostPort: number) {
    const values = { ...release, port: this.config.containerPort };
    const image = fillTemplate(
      this.layout.find((entry) => entry.name === release.service)?.image ?? this.config.image,
      values,
    );
    const port = `${this.config.containerPort}/tcp`;
    const env = Object.entries(this.config.env).map(
      ([key, value]) => `${key}=${fillTemplate(value, values)}`,
    );
    env.push(`PORT=${this.config.containerPort}`);
    const spec = {
      Image: image,
      Env: env,
      ExposedPorts: { [port]: {} },
      Labels: {
        [LABEL.service]: release.service,
        [LABEL.slot]: release.slot,
        [LABEL.version]: release.version,
      } as Record<string, string>,
      HostConfig: {
        PortBindings: { [port]: [{ HostIp: this.config.host, HostPort: String(hostPort) }] },
        // The traffic rules restart a crashed release, or roll back: the Engine must not race them.
        RestartPolicy: { Name: 'no' },
      },
    };
    spec.Labels[LABEL.spec] = createHash('sha256')
      .update(JSON.stringify(spec))
      .digest('hex')
      .slice(0, 32);
    return { image, body: spec };
  }

  private async inspect(nameOrId: string): Promise<Inspected | undefined> {
    const answer = await this.engine.request('GET', `/containers/${nameOrId}/json`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw this.failure('inspect', answer);
    return JSON.parse(answer.body.toString('utf8')) as Inspected;
  }

  /** Pulls as `pull` says; the Engine streams progress as JSON lines and reports failures inside them. */
  private async ensureImage(image: string): Promise<void> {
    if (this.config.pull === 'never') return;
    if (this.config.pull === 'missing') {
      const local = await this.engine.request('GET', `/images/${image}/json`);
      if (local.status === 200) return;
      if (local.status !== 404) throw this.failure('image inspect', local);
    }
    const { fromImage, tag } = splitImage(image);
    const auth = this.config.registryAuth;
    const headers: Record<string, string> = auth
      ? {
          'x-registry-auth': registryAuthHeader({
            ...auth,
            serverAddress: auth.serverAddress ?? registryOf(image),
          }),
        }
      : {};
    const answer = await this.engine.request(
      'POST',
      `/images/create?fromImage=${encodeURIComponent(fromImage)}&tag=${encodeURIComponent(tag)}`,
      undefined,
      headers,
    );
    if (answer.status !== 200) throw this.failure('pull', answer);
    for (const line of answer.body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const progress = JSON.parse(line) as { error?: string };
      if (progress.error) throw new Error(`docker pull ${image} failed: ${progress.error}`);
    }
  }

  /** Follows `die` events of slot containers; resolves once the stream is live. */
  private followEvents(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.following ??= (async () => {
      const filters = JSON.stringify({ type: ['container'], event: ['die'], label: [LABEL.slot] });
      this.events = await this.engine.stream(
        `/events?filters=${encodeURIComponent(filters)}`,
        (line) => this.onEvent(line),
        () => this.followAgain(),
      );
      // Closed while the stream was being opened: nothing is left to keep the process alive.
      if (this.closed) return void this.events.destroy();
      if (this.outage) this.logger.info('following the Docker Engine events again');
      this.outage = false;
    })().catch((error: unknown) => {
      this.following = undefined;
      throw error;
    });
    return this.following;
  }

  /** The stream dropped (dockerd restarted): follow it again, then look for exits it missed. */
  private followAgain(): void {
    this.events = undefined;
    this.following = undefined;
    if (this.closed) return;
    if (!this.outage) this.logger.warn('the Docker Engine event stream closed; following it again');
    this.outage = true;
    setTimeout(() => {
      this.followEvents()
        .then(() => this.sweep())
        .catch((error: unknown) => {
          this.logger.debug({ err: error }, 'the Docker Engine is not answering yet');
          // A stream that came up before the sweep failed ends first; its end follows again.
          if (this.events) this.events.destroy();
          else this.followAgain();
        });
    }, this.config.reconnectDelay).unref();
  }

  private async sweep(): Promise<void> {
    for (const [key, { ref, id }] of [...this.watched]) {
      const container = await this.inspect(id);
      if (container?.State.Running) continue;
      const exit = container ? `exit code ${container.State.ExitCode}` : 'container removed';
      if (this.watched.get(key)?.id === id)
        this.exited(key, ref, `${exit} (while the Engine's events were not followed)`);
    }
  }

  private onEvent(line: string): void {
    let event: DieEvent;
    try {
      event = JSON.parse(line) as DieEvent;
    } catch {
      return;
    }
    const id = event.Actor?.ID ?? event.id;
    for (const [key, watched] of this.watched) {
      if (watched.id !== id) continue;
      const code = event.Actor?.Attributes?.exitCode;
      this.exited(key, watched.ref, `container exited with code ${code ?? 'unknown'}`);
    }
  }

  private exited(key: string, ref: SlotRef, message: string): void {
    this.watched.delete(key);
    this.logger.debug({ ...ref, message }, 'container exited');
    for (const listener of this.exitListeners) listener(ref, message);
  }

  private failure(action: string, answer: EngineAnswer): Error {
    return new Error(`docker ${action} failed (HTTP ${answer.status}): ${engineMessage(answer)}`);
  }
}
