import http from 'node:http';
import type { Logger } from 'pino';
import { fillTemplate, type DockerOrchestratorConfig } from './options.js';
import { slotKey, slotPorts } from './ports.js';
import type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

interface EngineAnswer {
  status: number;
  body: Buffer;
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) into text lines. */
export function demultiplex(raw: Buffer): string[] {
  let text = '';
  let offset = 0;
  const framed = raw.length >= 8 && raw[0] <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
  if (!framed) text = raw.toString('utf8');
  while (framed && offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    text += raw.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return text.split('\n').filter((line) => line !== '');
}

/** Splits `registry:5000/app:v2` into the image and its tag (default `latest`). */
export function splitImage(image: string): { fromImage: string; tag: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash
    ? { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) }
    : { fromImage: image, tag: 'latest' };
}

/**
 * One container per slot through the Docker Engine API over its unix socket: pull the image,
 * replace the slot's container, publish the container port on a loopback host port, start it.
 * Stopping stops the container (kept for its logs until the slot is deployed again).
 */
export class DockerOrchestrator implements Orchestrator {
  readonly type = 'docker';
  private readonly ports: Map<string, number>;

  constructor(
    private readonly config: DockerOrchestratorConfig,
    private readonly layout: readonly ServiceLayout[],
    private readonly logger: Logger,
  ) {
    this.ports = slotPorts(layout, config.ports);
  }

  async start(release: ReleaseSpec): Promise<{ target: string }> {
    const name = this.containerName(release);
    const hostPort = this.ports.get(slotKey(release))!;
    const values = { ...release, port: this.config.containerPort };
    const image = fillTemplate(
      this.layout.find((entry) => entry.name === release.service)?.image ?? this.config.image,
      values,
    );
    if (this.config.pull) await this.pull(image);
    const removed = await this.request('DELETE', `/containers/${name}?force=true`);
    if (removed.status !== 204 && removed.status !== 404) throw this.failure('remove', removed);
    const port = `${this.config.containerPort}/tcp`;
    const env = Object.entries(this.config.env).map(
      ([key, value]) => `${key}=${fillTemplate(value, values)}`,
    );
    env.push(`PORT=${this.config.containerPort}`);
    const created = await this.request(
      'POST',
      `/containers/create?name=${encodeURIComponent(name)}`,
      {
        Image: image,
        Env: env,
        ExposedPorts: { [port]: {} },
        Labels: {
          'io.qwickapps.service': release.service,
          'io.qwickapps.slot': release.slot,
          'io.qwickapps.version': release.version,
        },
        HostConfig: {
          PortBindings: { [port]: [{ HostIp: this.config.host, HostPort: String(hostPort) }] },
          RestartPolicy: { Name: 'no' },
        },
      },
    );
    if (created.status !== 201) throw this.failure('create', created);
    const { Id } = JSON.parse(created.body.toString('utf8')) as { Id: string };
    const started = await this.request('POST', `/containers/${Id}/start`);
    if (started.status !== 204 && started.status !== 304) throw this.failure('start', started);
    this.logger.info(
      { container: name, id: Id.slice(0, 12), image, hostPort },
      'container started',
    );
    return { target: `http://${this.config.host}:${hostPort}` };
  }

  async stop(ref: SlotRef): Promise<void> {
    const answer = await this.request(
      'POST',
      `/containers/${this.containerName(ref)}/stop?t=${this.config.stopTimeout}`,
    );
    if (answer.status !== 204 && answer.status !== 304 && answer.status !== 404)
      throw this.failure('stop', answer);
  }

  async status(ref: SlotRef): Promise<SlotRuntime> {
    const answer = await this.request('GET', `/containers/${this.containerName(ref)}/json`);
    if (answer.status === 404) return { state: 'stopped', detail: 'no container' };
    if (answer.status !== 200) throw this.failure('inspect', answer);
    const { State } = JSON.parse(answer.body.toString('utf8')) as {
      State: { Status: string; Running: boolean; ExitCode: number; Pid: number };
    };
    if (State.Running) return { state: 'running', pid: State.Pid, detail: State.Status };
    return {
      state: State.Status === 'exited' ? 'exited' : 'stopped',
      detail: `${State.Status}, exit code ${State.ExitCode}`,
    };
  }

  async logs(ref: SlotRef, limit: number): Promise<string[]> {
    const answer = await this.request(
      'GET',
      `/containers/${this.containerName(ref)}/logs?stdout=1&stderr=1&tail=${limit}`,
    );
    if (answer.status === 404) return [];
    if (answer.status !== 200) throw this.failure('logs', answer);
    return demultiplex(answer.body).slice(-limit);
  }

  onExit(): void {
    // Containers are watched through the health checks; the Engine's event stream is not followed.
  }

  async close(): Promise<void> {}

  private containerName(ref: SlotRef): string {
    return fillTemplate(this.config.nameTemplate, { service: ref.service, slot: ref.slot });
  }

  /** Pulls an image; the Engine streams progress as JSON lines and reports failures inside them. */
  private async pull(image: string): Promise<void> {
    const { fromImage, tag } = splitImage(image);
    const answer = await this.request(
      'POST',
      `/images/create?fromImage=${encodeURIComponent(fromImage)}&tag=${encodeURIComponent(tag)}`,
    );
    if (answer.status !== 200) throw this.failure('pull', answer);
    for (const line of answer.body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const progress = JSON.parse(line) as { error?: string };
      if (progress.error) throw new Error(`docker pull ${image} failed: ${progress.error}`);
    }
  }

  private failure(action: string, answer: EngineAnswer): Error {
    let message = answer.body.toString('utf8');
    try {
      message = (JSON.parse(message) as { message?: string }).message ?? message;
    } catch {}
    return new Error(`docker ${action} failed (HTTP ${answer.status}): ${message.trim()}`);
  }

  private request(method: string, path: string, body?: unknown): Promise<EngineAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.config.socketPath,
          path: `/${this.config.apiVersion}${path}`,
          method,
          headers:
            payload === undefined
              ? {}
              : {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(payload),
                },
          timeout: this.config.requestTimeout,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`docker ${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
