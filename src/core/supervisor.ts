import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';

export interface RestartPolicy {
  /** First delay after a crash. Default 500 ms. */
  initialDelay?: number;
  /** Longest delay between restarts. Default 30 000 ms. */
  maxDelay?: number;
  /** Each consecutive crash multiplies the delay. Default 2. */
  factor?: number;
  /** A process that ran this long resets the delay. Default 30 000 ms. */
  resetAfter?: number;
}

export interface SupervisorOptions {
  name: string;
  command: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  logger: Logger;
  /** Restart after an unexpected exit; `false` leaves a crashed process down. */
  restart?: RestartPolicy | false;
  /** After SIGTERM, how long to wait before SIGKILL. Default 10 000 ms. */
  stopTimeout?: number;
  /** How many output lines to keep for `logs()`. Default 1 000. */
  outputLines?: number;
}

export type SupervisedState = 'idle' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'crashed';

export interface SupervisedStatus {
  name: string;
  state: SupervisedState;
  pid?: number;
  restarts: number;
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  nextRestartAt?: string;
}

/**
 * Runs one command as a child process: captures its output, restarts it with exponential
 * backoff when it exits unexpectedly, and stops it with SIGTERM, then SIGKILL after a timeout.
 * Emits `exit` ({ code, signal, expected }) and `spawn` ({ pid }).
 */
export class ProcessSupervisor extends EventEmitter {
  private child?: ChildProcess;
  private state: SupervisedState = 'idle';
  private restarts = 0;
  private consecutiveCrashes = 0;
  private startedAt?: number;
  private lastExit?: SupervisedStatus['lastExit'];
  private restartTimer?: NodeJS.Timeout;
  private nextRestartAt?: number;
  private readonly output: string[] = [];
  private readonly policy: Required<RestartPolicy> | false;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.policy =
      options.restart === false
        ? false
        : {
            initialDelay: 500,
            maxDelay: 30_000,
            factor: 2,
            resetAfter: 30_000,
            ...options.restart,
          };
  }

  /** Spawns the process; resolves once it has a pid (rejects if it cannot be spawned). */
  start(): Promise<void> {
    if (this.state === 'running') return Promise.resolve();
    this.state = 'running';
    return this.spawnChild().catch((error: unknown) => {
      this.state = 'crashed';
      throw error;
    });
  }

  /** Stops the process and any pending restart; resolves once it has exited. */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timeout = this.options.stopTimeout ?? 10_000;
    const killer = setTimeout(() => {
      this.options.logger.warn(
        { service: this.options.name, pid: child.pid, timeout },
        'process ignored SIGTERM; sending SIGKILL',
      );
      child.kill('SIGKILL');
    }, timeout);
    await exited;
    clearTimeout(killer);
    this.state = 'stopped';
  }

  status(): SupervisedStatus {
    return {
      name: this.options.name,
      state: this.state,
      pid: this.child && this.child.exitCode === null ? this.child.pid : undefined,
      restarts: this.restarts,
      startedAt: this.startedAt ? new Date(this.startedAt).toISOString() : undefined,
      lastExit: this.lastExit,
      nextRestartAt: this.nextRestartAt ? new Date(this.nextRestartAt).toISOString() : undefined,
    };
  }

  /** The most recent output lines (stdout and stderr), oldest first. */
  logs(limit = 200): string[] {
    return this.output.slice(-limit);
  }

  private spawnChild(): Promise<void> {
    const { command, args = [], cwd, env, logger, name } = this.options;
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child;
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => this.capture(line));
      }
      child.once('spawn', () => {
        this.startedAt = Date.now();
        logger.info({ service: name, pid: child.pid }, 'process started');
        this.emit('spawn', { pid: child.pid });
        resolve();
      });
      // `on`, not `once`: a later error (a failed kill, say) must be logged, never crash the gateway.
      child.on('error', (error) => {
        if (child.pid === undefined) {
          logger.error({ service: name, err: error }, 'process could not be started');
          reject(error);
        } else {
          logger.warn({ service: name, pid: child.pid, err: error }, 'process error');
        }
      });
      child.once('exit', (code, signal) => this.onExit(child, code, signal));
    });
  }

  private capture(line: string): void {
    this.output.push(line);
    const limit = this.options.outputLines ?? 1_000;
    if (this.output.length > limit) this.output.splice(0, this.output.length - limit);
    this.options.logger.debug({ service: this.options.name, line }, 'process output');
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.lastExit = { code, signal, at: new Date().toISOString() };
    const expected = this.state === 'stopping' || this.state === 'stopped';
    this.emit('exit', { code, signal, expected });
    if (expected) return;
    this.options.logger.warn(
      { service: this.options.name, code, signal },
      'process exited unexpectedly',
    );
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const { logger, name } = this.options;
    if (!this.policy) {
      this.state = 'crashed';
      logger.error({ service: name }, 'restart disabled; the process stays down');
      return;
    }
    const ranFor = Date.now() - (this.startedAt ?? Date.now());
    this.consecutiveCrashes = ranFor >= this.policy.resetAfter ? 1 : this.consecutiveCrashes + 1;
    const delay = Math.min(
      this.policy.maxDelay,
      this.policy.initialDelay * this.policy.factor ** (this.consecutiveCrashes - 1),
    );
    this.state = 'backoff';
    this.nextRestartAt = Date.now() + delay;
    logger.info({ service: name, delay, restarts: this.restarts }, 'restarting after a delay');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.nextRestartAt = undefined;
      if (this.state !== 'backoff') return;
      this.restarts++;
      this.state = 'running';
      this.spawnChild().catch(() => this.scheduleRestart());
    }, delay);
    this.restartTimer.unref();
  }
}
