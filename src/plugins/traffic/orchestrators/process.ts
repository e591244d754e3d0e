import net from 'node:net';
import type { Logger } from 'pino';
import { ProcessSupervisor } from '../../../core/supervisor.js';
import { fillTemplate, type ProcessOrchestratorConfig, type ReleaseCommand } from './options.js';
import { slotKey, slotPorts } from './ports.js';
import type { Orchestrator, ReleaseSpec, ServiceLayout, SlotRef, SlotRuntime } from './types.js';

/** True when something already accepts connections on the port. */
function portTaken(host: string, port: number, timeout = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (taken: boolean) => {
      socket.destroy();
      resolve(taken);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Releases as local child processes, one port per slot. A release uploaded with `qwickapps
 * release` runs its service's command in the release's folder (`{release}` in arguments names
 * it); a version never uploaded runs the same command, in its configured folder, with another
 * VERSION. Each runs under a ProcessSupervisor with
 * restarts off: a crashing candidate must be marked failed, not revived; the controller decides
 * whether an active release is started again.
 */
export class ProcessOrchestrator implements Orchestrator {
  readonly type = 'process';
  private readonly ports: Map<string, number>;
  private readonly supervisors = new Map<string, ProcessSupervisor>();
  private readonly exitListeners: ((ref: SlotRef, message: string) => void)[] = [];

  constructor(
    private readonly config: ProcessOrchestratorConfig,
    private readonly layout: readonly ServiceLayout[],
    private readonly logger: Logger,
    /** Set for every release before its own env, which may override it. */
    private readonly childEnv: Readonly<Record<string, string>> = {},
  ) {
    this.ports = slotPorts(layout, config.ports);
  }

  async start(release: ReleaseSpec): Promise<{ target: string }> {
    const key = slotKey(release);
    const port = this.ports.get(key);
    if (port === undefined) throw new Error(`Unknown slot ${key}.`);
    await this.stop(release);
    // A stray process on the port would answer the health checks in the release's place.
    if (await portTaken(this.config.host, port))
      throw new Error(`port ${port} is already in use by another process`);
    const command = this.commandFor(release.service);
    const values: Record<string, string | number> = {
      service: release.service,
      slot: release.slot,
      version: release.version,
      port,
    };
    // An uploaded release runs in its own folder; without one, the configured command as before.
    const configured = command.cwd === undefined ? undefined : fillTemplate(command.cwd, values);
    const cwd = release.directory ?? configured;
    // `{release}`: the uploaded release's folder, else the folder the command runs in.
    values.release = cwd ?? process.cwd();
    const env = Object.fromEntries(
      Object.entries(command.env).map(([name, value]) => [name, fillTemplate(value, values)]),
    );
    const supervisor = new ProcessSupervisor({
      name: key,
      command: fillTemplate(command.command, values),
      args: command.args.map((arg) => fillTemplate(arg, values)),
      cwd,
      env: { ...this.childEnv, ...env, PORT: String(port), HOST: this.config.host },
      logger: this.logger,
      restart: false,
      stopTimeout: this.config.stopTimeout,
      outputLines: this.config.outputLines,
    });
    supervisor.on(
      'exit',
      ({
        code,
        signal,
        expected,
      }: {
        code: number | null;
        signal: string | null;
        expected: boolean;
      }) => {
        if (expected || this.supervisors.get(key) !== supervisor) return;
        const message = signal ? `killed by ${signal}` : `exit code ${code}`;
        for (const listener of this.exitListeners)
          listener({ service: release.service, slot: release.slot }, message);
      },
    );
    this.supervisors.set(key, supervisor);
    await supervisor.start();
    return {
      target: `http://${this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host}:${port}`,
    };
  }

  async stop(ref: SlotRef): Promise<void> {
    await this.supervisors.get(slotKey(ref))?.stop();
  }

  async status(ref: SlotRef): Promise<SlotRuntime> {
    const supervisor = this.supervisors.get(slotKey(ref));
    if (!supervisor) return { state: 'stopped' };
    const status = supervisor.status();
    const exit = status.lastExit
      ? `last exit: ${status.lastExit.signal ?? `code ${status.lastExit.code}`} at ${status.lastExit.at}`
      : undefined;
    if (status.state === 'running') return { state: 'running', pid: status.pid };
    if (status.state === 'crashed') return { state: 'exited', detail: exit };
    return { state: 'stopped', detail: exit };
  }

  async logs(ref: SlotRef, limit: number): Promise<string[]> {
    return this.supervisors.get(slotKey(ref))?.logs(limit) ?? [];
  }

  onExit(listener: (ref: SlotRef, message: string) => void): void {
    this.exitListeners.push(listener);
  }

  /** Local releases are children of the gateway: they stop with it. */
  async close(): Promise<void> {
    await Promise.all([...this.supervisors.values()].map((supervisor) => supervisor.stop()));
  }

  private commandFor(service: string): ReleaseCommand {
    const own = this.layout.find((entry) => entry.name === service)?.release;
    if (own) return own;
    const { command, args, cwd, env } = this.config;
    if (!command) throw new Error(`No release command for ${service}.`);
    return { command, args, cwd, env };
  }
}
