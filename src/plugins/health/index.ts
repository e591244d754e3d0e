import type { AppContext, AppPhase } from '../../core/context.js';
import type { HealthCheckSnapshot, HealthStatus } from '../../core/health-registry.js';
import { PLUGIN_ORDER, type RouteDefinition, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { UIContribution } from '../../core/ui.js';
import { toHealthCheck } from './checks.js';
import { healthOptionsSchema, type HealthConfig, type HealthPluginOptions } from './options.js';
import { createProbeHandler } from './probes.js';

export { DEFAULT_CHECK_INTERVAL, DEFAULT_CHECK_TIMEOUT } from './options.js';
export type {
  CustomCheckOptions,
  CustomCheckRun,
  HealthCheckOptions,
  HealthConfig,
  HealthPluginOptions,
  HttpCheckOptions,
  TcpCheckOptions,
} from './options.js';
export type { ProbeName, ProbeStatus } from './probes.js';
export { HEALTH_ERRORS } from './errors.js';

/** The body of `GET /api/health`. */
export interface HealthReport {
  status: HealthStatus;
  phase: AppPhase;
  ready: boolean;
  uptimeSeconds: number;
  checks: HealthCheckSnapshot[];
}

/** Read from the cache like the probes: asking for the report never runs a check. */
export function healthReport(app: AppContext): HealthReport {
  const { status, checks } = app.health.summary();
  return {
    status,
    phase: app.phase(),
    ready: app.isReady(),
    uptimeSeconds: Math.floor((Date.now() - app.startedAt.getTime()) / 1000),
    checks,
  };
}

const REPORT_REFRESH_MS = 5_000;

const ui: UIContribution = {
  pages: [
    {
      id: 'health',
      title: 'Health',
      route: '/health',
      icon: 'heart-pulse',
      order: 10,
      views: [{ kind: 'health', endpoint: '/api/health', refreshMs: REPORT_REFRESH_MS }],
    },
  ],
  widgets: [
    {
      id: 'health-summary',
      title: 'Health',
      order: 10,
      view: { kind: 'health', endpoint: '/api/health', refreshMs: REPORT_REFRESH_MS },
    },
  ],
};

/**
 * Kubernetes probes and the health report.
 *
 * - `GET|HEAD /health/live`, `/health/ready`, `/health/startup` (public): answered before Express
 *   from cached state, `{ "status": "ok" | "starting" | "unavailable" | "shutting_down" }`, 200 or 503.
 *   `GET|HEAD /health` is readiness too (the same answer as `/health/ready`), for tools that ask
 *   the bare path.
 * - `GET /api/health` (admin): `{ status, phase, ready, uptimeSeconds, checks }`. It answers 200
 *   even when unhealthy: it is a report for people and the control panel, and readiness is the
 *   probe that machines act on. Read `status` (or `ready`) from the body.
 *
 * Checks come from plugins (`healthCheck`) and from `options.checks` (`http`, `tcp`, `custom`);
 * each runs on its interval with its timeout in the app's health registry. Graceful shutdown
 * (signals, readiness delay, drain, hooks) lives in the core `createApp`, tuned by its
 * `shutdown` option; this plugin is what makes readiness visible to load balancers.
 * @example
 * createApp({
 *   name: 'api',
 *   plugins: [createHealthPlugin({ checks: [{ type: 'tcp', name: 'redis', host: '127.0.0.1', port: 6379, critical: false }] })],
 * });
 */
export function createHealthPlugin(options: HealthPluginOptions = {}): ServerPlugin<HealthConfig> {
  return {
    name: 'health',
    version: CORE_VERSION,
    // Early, so the probe handler runs before other raw handlers (a proxy must not swallow /health/*).
    order: PLUGIN_ORDER.early,
    config: { schema: healthOptionsSchema, options },
    onInit(context) {
      context.app.addRawHandler(createProbeHandler(context.app));
      for (const check of context.config.checks) context.addHealthCheck(toHealthCheck(check));
    },
    routes: (context): RouteDefinition[] => [
      {
        method: 'get',
        path: '/api/health',
        access: 'admin',
        permission: 'health:read',
        description:
          'Health report: overall status, phase, readiness and every check (cached results)',
        handler: (_req, res) => {
          res.set('cache-control', 'no-store').json(healthReport(context.app));
        },
      },
    ],
    ui,
  };
}
