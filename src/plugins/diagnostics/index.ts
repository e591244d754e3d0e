import type { Request, Response } from 'express';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition, ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { UIContribution } from '../../core/ui.js';
import {
  diagnosticsOptionsSchema,
  type DiagnosticsConfig,
  type DiagnosticsOptions,
} from './options.js';
import { buildReport, readHostFacts, type HostFacts } from './report.js';
import { DiagnosticsSampler } from './sampler.js';

export { DEFAULT_EVENT_LOOP_RESOLUTION, DEFAULT_SAMPLE_INTERVAL } from './options.js';
export type { DiagnosticsConfig, DiagnosticsOptions } from './options.js';
export type { DiagnosticsReport, HostFacts, PluginDiagnostics } from './report.js';
export type { EventLoopDelay, WindowSample } from './sampler.js';
export { DIAGNOSTICS_ERRORS } from './errors.js';

const DOWNLOAD_VALUES: Record<string, boolean> = {
  '1': true,
  true: true,
  '0': false,
  false: false,
};

/** Parameters the endpoint does not know are refused, so a misspelt `?downlaod=1` is not silently ignored. */
function wantsDownload(query: Request['query']): boolean {
  const problems: { name: string; reason: string }[] = [];
  for (const name of Object.keys(query))
    if (name !== 'download')
      problems.push({ name, reason: 'unknown parameter; the only one is "download"' });
  const value = query.download;
  let download = false;
  if (typeof value === 'string') {
    if (Object.hasOwn(DOWNLOAD_VALUES, value)) download = DOWNLOAD_VALUES[value];
    else
      problems.push({
        name: 'download',
        reason: `expected 1, true, 0 or false, got "${value.slice(0, 40)}"`,
      });
  } else if (value !== undefined) {
    problems.push({ name: 'download', reason: 'must be given once, as a plain value' });
  }
  if (problems.length > 0) {
    const detail = problems.map((problem) => `${problem.name}: ${problem.reason}`).join('; ');
    throw new HttpError(400, 'DIAGNOSTICS_INVALID_QUERY', `Invalid query: ${detail}`, {
      details: { invalidParams: problems },
    });
  }
  return download;
}

/** `diagnostics-<app>-2025-01-31T12-00-00-000Z.json`: safe on every file system, sorts by time. */
function reportFileName(appName: string, at: string): string {
  const safeName = appName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'app';
  return `diagnostics-${safeName}-${at.replace(/[:.]/g, '-')}.json`;
}

/**
 * Process and host facts for people and the control panel.
 *
 * `GET /api/diagnostics` (admin): versions (node, v8, the app, each plugin), uptime, memory, CPU
 * (cumulative, and a percentage over the last sampling window), event-loop delay percentiles
 * and utilisation over that window, active handles and requests by type, OS facts, and each
 * plugin's state with its error. `?download=1` answers the same report as a JSON file, adding
 * the effective configuration and environment with secrets masked.
 *
 * Nothing slow runs per request: host facts are read once, free memory and load on the sampling
 * timer, and the rest is in memory.
 * @example
 * createApp({ name: 'api', plugins: [createDiagnosticsPlugin({ sampleInterval: 10_000 })] });
 * // curl -OJ http://127.0.0.1:3000/api/diagnostics?download=1
 */
export function createDiagnosticsPlugin(
  options: DiagnosticsOptions = {},
): ServerPlugin<DiagnosticsConfig> {
  let sampler: DiagnosticsSampler | undefined;
  let host: HostFacts | undefined;
  return {
    name: 'diagnostics',
    version: CORE_VERSION,
    config: { schema: diagnosticsOptionsSchema, options },
    onInit(context) {
      host = readHostFacts();
      sampler = new DiagnosticsSampler(context.config);
      sampler.start();
    },
    onShutdown() {
      sampler?.stop();
    },
    routes: (context): RouteDefinition[] => [
      {
        method: 'get',
        path: context.config.path,
        access: 'admin',
        permission: 'diagnostics:read',
        description:
          'Diagnostics report: versions, uptime, memory, CPU, event loop, handles, OS, plugin states; ?download=1 as a file with masked config',
        handler: (req: Request, res: Response) => {
          const download = wantsDownload(req.query);
          const report = buildReport(context.app, sampler!, host!, {
            ...context.config,
            includeConfig: download,
          });
          res.set('cache-control', 'no-store');
          if (!download) return void res.json(report);
          res.attachment(reportFileName(context.app.name, report.generatedAt));
          res.type('application/json').send(JSON.stringify(report, null, 2));
        },
      },
    ],
    ui: (context): UIContribution => ({
      pages: [
        {
          id: 'diagnostics',
          title: 'Diagnostics',
          route: '/diagnostics',
          icon: 'activity',
          order: 20,
          views: [
            {
              kind: 'json',
              endpoint: context.config.path,
              refreshMs: context.config.sampleInterval,
              download: `${context.config.path}?download=1`,
            },
          ],
        },
      ],
    }),
  };
}
