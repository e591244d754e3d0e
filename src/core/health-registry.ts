import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** What a check returns; returning nothing means healthy, throwing means unhealthy. */
export interface HealthCheckResult {
  status: HealthStatus;
  message?: string;
  details?: Record<string, unknown>;
}

export interface HealthCheckDefinition {
  name: string;
  run: () => Promise<HealthCheckResult | void>;
  /** A failing critical check makes readiness 503; informational ones only degrade. Default true. */
  critical?: boolean;
  /** Milliseconds between runs. Default 10 000. */
  interval?: number;
  /** Milliseconds before a run counts as failed. Default 2 000. */
  timeout?: number;
  /** Which plugin registered it. */
  plugin?: string;
}

/** The cached outcome of a check, as probes and the control panel read it. */
export interface HealthCheckSnapshot {
  name: string;
  plugin?: string;
  critical: boolean;
  status: HealthStatus | 'pending';
  message?: string;
  details?: Record<string, unknown>;
  latencyMs?: number;
  lastRun?: string;
  lastError?: string;
  lastErrorAt?: string;
  /** The most recent results, oldest first, for a short history. */
  history: { at: string; status: HealthStatus; latencyMs: number }[];
}

export interface HealthSummary {
  status: HealthStatus;
  checks: HealthCheckSnapshot[];
}

const HISTORY_LENGTH = 20;
const DEFAULT_CHECK_INTERVAL = 10_000;
const DEFAULT_CHECK_TIMEOUT = 2_000;

class TimeoutError extends Error {}

interface Entry {
  definition: Required<Omit<HealthCheckDefinition, 'plugin'>> & { plugin?: string };
  snapshot: HealthCheckSnapshot;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  /** A run that outlived its timeout and has not settled yet: no new run starts beside it. */
  hung?: { since: number };
}

/**
 * Runs checks on their own intervals and caches the results, so a probe reads memory and never
 * waits for (or hammers) a database.
 */
export class HealthRegistry {
  private readonly entries = new Map<string, Entry>();
  private started = false;
  private readonly listeners = new Set<(snapshot: HealthCheckSnapshot) => void>();

  constructor(private readonly logger: Logger) {}

  register(check: HealthCheckDefinition): void {
    if (this.entries.has(check.name))
      throw new Error(`A health check named "${check.name}" is already registered.`);
    // `??` rather than spreading defaults first: an option left `undefined` (common when a plugin
    // forwards its own optional settings) must not erase the default and turn into a 1 ms timer.
    const definition = {
      ...check,
      critical: check.critical ?? true,
      interval: check.interval ?? DEFAULT_CHECK_INTERVAL,
      timeout: check.timeout ?? DEFAULT_CHECK_TIMEOUT,
    };
    for (const key of ['interval', 'timeout'] as const) {
      if (!Number.isFinite(definition[key]) || definition[key] <= 0) {
        throw new Error(
          `Health check "${check.name}": ${key} must be a positive number of milliseconds (got ${definition[key]}).`,
        );
      }
    }
    const entry: Entry = {
      definition,
      snapshot: {
        name: check.name,
        plugin: check.plugin,
        critical: definition.critical,
        status: 'pending',
        history: [],
      },
    };
    this.entries.set(check.name, entry);
    if (this.started) this.schedule(entry);
  }

  unregister(name: string): void {
    const entry = this.entries.get(name);
    if (entry?.timer) clearTimeout(entry.timer);
    this.entries.delete(name);
  }

  /** Called when a check's result changes; the control panel and logs use it. */
  onResult(listener: (snapshot: HealthCheckSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs every check once (awaited), then keeps each on its interval. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all([...this.entries.values()].map((entry) => this.schedule(entry)));
  }

  stop(): void {
    this.started = false;
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
  }

  /** Runs one check now (or joins the run in progress) and returns its fresh snapshot. */
  async runNow(name: string): Promise<HealthCheckSnapshot | undefined> {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    await this.runEntry(entry);
    return structuredClone(entry.snapshot);
  }

  /** The cached state of every check; never runs a check. */
  summary(): HealthSummary {
    const checks = [...this.entries.values()].map((entry) => entry.snapshot);
    return {
      status: overallStatus(checks),
      checks: checks.map((check) => ({ ...check, history: [...check.history] })),
    };
  }

  /** True when no critical check is failing (pending counts as not ready). */
  criticalPassing(): boolean {
    for (const entry of this.entries.values()) {
      if (!entry.definition.critical) continue;
      if (entry.snapshot.status === 'unhealthy' || entry.snapshot.status === 'pending')
        return false;
    }
    return true;
  }

  private schedule(entry: Entry): Promise<void> {
    const tick = async () => {
      await this.runEntry(entry);
      if (this.started && this.entries.get(entry.definition.name) === entry) {
        entry.timer = setTimeout(tick, entry.definition.interval);
        entry.timer.unref();
      }
    };
    return tick();
  }

  private runEntry(entry: Entry): Promise<void> {
    entry.running ??= this.execute(entry).finally(() => {
      entry.running = undefined;
    });
    return entry.running;
  }

  private async execute(entry: Entry): Promise<void> {
    const { definition } = entry;
    const started = performance.now();
    let result: HealthCheckResult;
    let failure: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (entry.hung) {
        // A check that never settles would otherwise gain one more stuck run every interval.
        const seconds = Math.round((Date.now() - entry.hung.since) / 1000);
        throw new Error(
          `previous run still pending after ${seconds} s (timeout ${definition.timeout} ms)`,
        );
      }
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TimeoutError(`timed out after ${definition.timeout} ms`)),
          definition.timeout,
        );
      });
      const run = Promise.resolve().then(definition.run);
      const settled = () => {
        entry.hung = undefined;
      };
      result = (await Promise.race([run, timeout]).catch((error: unknown) => {
        if (error instanceof TimeoutError) {
          entry.hung = { since: Date.now() };
          run.then(settled, settled);
        }
        throw error;
      })) ?? { status: 'healthy' };
      if (result.status !== 'healthy') failure = result.message ?? result.status;
    } catch (error) {
      failure = errorMessage(error);
      result = { status: 'unhealthy', message: failure };
    } finally {
      clearTimeout(timer);
    }
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    const at = new Date().toISOString();
    const previous = entry.snapshot.status;
    const snapshot = entry.snapshot;
    snapshot.status = result.status;
    snapshot.message = result.message;
    snapshot.details = result.details;
    snapshot.latencyMs = latencyMs;
    snapshot.lastRun = at;
    if (failure) {
      snapshot.lastError = failure;
      snapshot.lastErrorAt = at;
    }
    snapshot.history.push({ at, status: result.status, latencyMs });
    if (snapshot.history.length > HISTORY_LENGTH) snapshot.history.shift();
    if (previous !== result.status) {
      const log =
        result.status === 'healthy'
          ? this.logger.info.bind(this.logger)
          : this.logger.warn.bind(this.logger);
      log(
        { check: definition.name, status: result.status, previous, error: failure },
        'health check changed',
      );
    }
    for (const listener of this.listeners) {
      // A throwing listener must not stop the check's schedule (nor reject the timer's promise).
      try {
        listener(snapshot);
      } catch (error) {
        this.logger.error({ err: error, check: definition.name }, 'health result listener failed');
      }
    }
  }
}

/** Unhealthy if a critical check fails; degraded if any other check is not healthy. */
export function overallStatus(checks: readonly HealthCheckSnapshot[]): HealthStatus {
  let status: HealthStatus = 'healthy';
  for (const check of checks) {
    if (check.status === 'healthy') continue;
    if (check.critical && (check.status === 'unhealthy' || check.status === 'pending'))
      return 'unhealthy';
    status = 'degraded';
  }
  return status;
}
