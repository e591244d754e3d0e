import os from 'node:os';
import v8 from 'node:v8';
import type { EnvReport } from '../../core/config.js';
import { maskUrlPassword } from '../../core/masking.js';
import type { AppContext, AppPhase } from '../../core/context.js';
import type { PluginState } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { DiagnosticsSampler, WindowSample } from './sampler.js';

/** Facts that do not change while the process runs; read once, since os.cpus() reads /proc synchronously. */
export interface HostFacts {
  hostname: string;
  platform: NodeJS.Platform;
  type: string;
  release: string;
  arch: string;
  cpus: { count: number; model: string; speedMHz: number };
  availableParallelism: number;
  totalmem: number;
}

export function readHostFacts(): HostFacts {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    type: os.type(),
    release: os.release(),
    arch: os.arch(),
    cpus: {
      count: cpus.length,
      model: cpus[0]?.model.trim() ?? 'unknown',
      speedMHz: cpus[0]?.speed ?? 0,
    },
    availableParallelism: os.availableParallelism(),
    totalmem: os.totalmem(),
  };
}

export interface PluginDiagnostics {
  name: string;
  version: string | null;
  state: PluginState;
  dependencies: string[];
  initMs: number | null;
  error: string | null;
}

/** The body of `GET /api/diagnostics`; sizes in bytes, times in milliseconds unless named otherwise. */
export interface DiagnosticsReport {
  generatedAt: string;
  app: {
    name: string;
    version: string | null;
    phase: AppPhase;
    ready: boolean;
    url: string | null;
  };
  versions: {
    node: string;
    v8: string;
    uv: string;
    openssl: string;
    /** The framework's own version (`@qwickapps/server`). */
    core: string;
    app: string | null;
    plugins: Record<string, string | null>;
  };
  uptime: { processSeconds: number; appSeconds: number; appStartedAt: string };
  process: { pid: number; ppid: number };
  memory: NodeJS.MemoryUsage & { heapSizeLimit: number };
  /** `user` and `system`: CPU time since the process started, in microseconds (process.cpuUsage()). */
  cpu: { user: number; system: number; percent: number | null; percentOfHost: number | null };
  eventLoop: {
    utilization: number | null;
    delay: WindowSample['eventLoopDelay'] | null;
    resolutionMs: number;
  };
  /** The window the cpu percentages and event-loop figures cover. */
  sampling: { startedAt: string; windowMs: number; intervalMs: number } | null;
  activeResources: { total: number; byType: Record<string, number> };
  os: HostFacts & { loadavg: number[]; freemem: number; sampledAt: string };
  plugins: PluginDiagnostics[];
  /** Only in the downloaded report: the effective configuration and environment, masked. */
  config?: { effective: Record<string, unknown>; environment: (EnvReport & { scope: string })[] };
}

function countByType(resources: string[]): { total: number; byType: Record<string, number> } {
  const byType: Record<string, number> = {};
  for (const type of resources) byType[type] = (byType[type] ?? 0) + 1;
  return { total: resources.length, byType };
}

/** Everything here is in memory or a cheap syscall; nothing touches the file system. */
export function buildReport(
  app: AppContext,
  sampler: DiagnosticsSampler,
  host: HostFacts,
  settings: { sampleInterval: number; eventLoopResolution: number; includeConfig: boolean },
): DiagnosticsReport {
  const now = Date.now();
  const window = sampler.latest();
  const cpu = process.cpuUsage();
  const plugins = app.plugins().map((status) => ({
    name: status.name,
    version: status.version ?? null,
    state: status.state,
    dependencies: status.dependencies,
    initMs: status.initMs ?? null,
    // A failure message may quote a connection string; keep its password out of the report.
    error: status.error === undefined ? null : maskUrlPassword(status.error),
  }));
  const report: DiagnosticsReport = {
    generatedAt: new Date(now).toISOString(),
    app: {
      name: app.name,
      version: app.version ?? null,
      phase: app.phase(),
      ready: app.isReady(),
      url: app.url() ?? null,
    },
    versions: {
      node: process.version,
      v8: process.versions.v8,
      uv: process.versions.uv,
      openssl: process.versions.openssl,
      core: CORE_VERSION,
      app: app.version ?? null,
      plugins: Object.fromEntries(plugins.map((plugin) => [plugin.name, plugin.version])),
    },
    uptime: {
      processSeconds: Math.round(process.uptime() * 1000) / 1000,
      appSeconds: (now - app.startedAt.getTime()) / 1000,
      appStartedAt: app.startedAt.toISOString(),
    },
    process: { pid: process.pid, ppid: process.ppid },
    memory: { ...process.memoryUsage(), heapSizeLimit: v8.getHeapStatistics().heap_size_limit },
    cpu: {
      user: cpu.user,
      system: cpu.system,
      percent: window?.cpuPercent ?? null,
      percentOfHost: window?.cpuPercentOfHost ?? null,
    },
    eventLoop: {
      utilization: window?.eventLoopUtilization ?? null,
      delay: window?.eventLoopDelay ?? null,
      resolutionMs: settings.eventLoopResolution,
    },
    sampling: window
      ? {
          startedAt: window.startedAt,
          windowMs: window.windowMs,
          intervalMs: settings.sampleInterval,
        }
      : null,
    activeResources: countByType(process.getActiveResourcesInfo()),
    os: { ...host, ...sampler.host() },
    plugins,
  };
  if (settings.includeConfig)
    report.config = { effective: app.config.effective(), environment: app.config.environment() };
  return report;
}
