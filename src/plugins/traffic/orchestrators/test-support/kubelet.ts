import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../../../../../test/support/ports.js';
import type { KubernetesApi } from '../kubernetes-api.js';

interface PodEntry {
  name: string;
  slot: string;
  container: string;
  env: Record<string, string>;
  process?: ChildProcess;
  port?: number;
  ready: boolean;
  restarts: number;
  startedAt: string;
  /** Why the container is not running (CrashLoopBackOff after it exited). */
  waiting?: { reason: string; message: string };
  gone?: boolean;
}

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] };
}

const SLOT_LABEL = 'qwickapps.io/slot';

/**
 * Plays the kubelet for one namespace of a real API server that has none: each pod's container
 * runs as a local process (the release script, with the pod's own env and a free local port in
 * place of a pod network); a readiness probe (`GET /health/ready`) decides `Ready`; an exit is a
 * crash (`CrashLoopBackOff`, restarted after a back-off). Everything is written through the pods'
 * `status` subresource, and the real controllers derive the Deployments' status from it.
 *
 * Each slot also gets a local port that forwards to a ready pod of that slot and refuses
 * connections when there is none: the part of kube-proxy a per-slot Service provides.
 */
export class TestKubelet {
  private readonly pods = new Map<string, PodEntry>();
  private readonly proxies: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly api: KubernetesApi,
    private readonly namespace: string,
    private readonly script: string,
    private readonly backOff = 1_000,
  ) {}

  /** Starts syncing pods, and one forwarding port per slot; answers slot → URL. */
  async start(slots: string[]): Promise<Record<string, string>> {
    const targets: Record<string, string> = {};
    for (const slot of slots) {
      const server = net.createServer((socket) => this.forward(slot, socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.proxies.push(server);
      targets[slot] = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    }
    const loop = () => {
      this.timer = setTimeout(() => {
        this.sync()
          .catch((error: unknown) => console.warn('test kubelet sync failed:', error))
          .finally(() => !this.stopped && loop());
      }, 100);
    };
    loop();
    return targets;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const entry of this.pods.values()) this.kill(entry);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      this.proxies.map((server) => new Promise((resolve) => server.close(resolve))),
    );
  }

  private forward(slot: string, socket: net.Socket): void {
    const ready = [...this.pods.values()].filter(
      (entry) => entry.slot === slot && entry.ready && entry.port,
    );
    const backend = ready.at(-1);
    if (!backend) return void socket.destroy();
    const upstream = net.connect(backend.port!, '127.0.0.1');
    for (const end of [socket, upstream]) {
      this.sockets.add(end);
      end.once('close', () => this.sockets.delete(end));
    }
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  }

  private async sync(): Promise<void> {
    const answer = await this.api.call('GET', `/api/v1/namespaces/${this.namespace}/pods`);
    const listed = (answer.body as { items?: Pod[] }).items ?? [];
    const names = new Set(listed.map((pod) => pod.metadata.name));
    for (const [name, entry] of this.pods) {
      if (names.has(name)) continue;
      entry.gone = true;
      this.kill(entry);
      this.pods.delete(name);
    }
    for (const pod of listed) {
      if (pod.metadata.deletionTimestamp || this.pods.has(pod.metadata.name)) continue;
      const env = Object.fromEntries(
        (pod.spec.containers[0].env ?? []).map((variable) => [variable.name, variable.value ?? '']),
      );
      const entry: PodEntry = {
        name: pod.metadata.name,
        slot: pod.metadata.labels?.[SLOT_LABEL] ?? '',
        container: pod.spec.containers[0].name,
        env,
        ready: false,
        restarts: 0,
        startedAt: new Date().toISOString(),
      };
      this.pods.set(entry.name, entry);
      await this.run(entry);
    }
    await Promise.all([...this.pods.values()].map((entry) => this.probe(entry)));
  }

  private async run(entry: PodEntry): Promise<void> {
    entry.port = await freePort();
    entry.waiting = undefined;
    entry.startedAt = new Date().toISOString();
    const child = spawn(process.execPath, [this.script], {
      env: { ...process.env, ...entry.env, PORT: String(entry.port), HOST: '127.0.0.1' },
      stdio: 'ignore',
    });
    entry.process = child;
    child.once('exit', (code) => {
      if (entry.process !== child || entry.gone || this.stopped) return;
      entry.process = undefined;
      entry.ready = false;
      entry.restarts += 1;
      entry.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off restarting failed container (exit code ${code ?? 'signal'})`,
      };
      void this.report(entry);
      setTimeout(() => {
        if (!entry.gone && !this.stopped) void this.run(entry).then(() => this.report(entry));
      }, this.backOff).unref();
    });
    await this.report(entry);
  }

  private async probe(entry: PodEntry): Promise<void> {
    if (!entry.process || !entry.port) return;
    let ready = false;
    try {
      const response = await fetch(`http://127.0.0.1:${entry.port}/health/ready`, {
        signal: AbortSignal.timeout(500),
      });
      await response.body?.cancel();
      ready = response.ok;
    } catch {}
    if (ready === entry.ready || !entry.process) return;
    entry.ready = ready;
    await this.report(entry);
  }

  /** Writes the pod's status the way a kubelet reports it. */
  private async report(entry: PodEntry): Promise<void> {
    if (entry.gone || this.stopped) return;
    const now = new Date().toISOString();
    const ready = entry.ready ? 'True' : 'False';
    const status = {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: entry.startedAt },
        { type: 'Ready', status: ready, lastTransitionTime: now },
        { type: 'ContainersReady', status: ready, lastTransitionTime: now },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: entry.startedAt },
      ],
      containerStatuses: [
        {
          name: entry.container,
          ready: entry.ready,
          restartCount: entry.restarts,
          image: 'release',
          imageID: '',
          started: entry.process !== undefined,
          state: entry.waiting
            ? { waiting: entry.waiting }
            : { running: { startedAt: entry.startedAt } },
        },
      ],
    };
    await this.api.call(
      'PATCH',
      `/api/v1/namespaces/${this.namespace}/pods/${entry.name}/status`,
      { status },
      'application/merge-patch+json',
    );
  }

  private kill(entry: PodEntry): void {
    entry.process?.kill('SIGKILL');
    entry.process = undefined;
    entry.ready = false;
  }
}
