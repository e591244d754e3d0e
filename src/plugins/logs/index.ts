import path from 'node:path';
import type { RequestHandler } from 'express';
import type { ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { logsOptionsSchema, type LogsOptions, type LogsSettings } from './options.js';
import { parsePageRequest } from './params.js';
import { queryLogs, type LogPage } from './query.js';
import { emptyReadStats, type ReadStats } from './reverse-reader.js';
import { LogStreams, notConfigured } from './stream.js';
import { LogTail } from './tail.js';
import { logsPanel } from './panel.js';

export type { LogsOptions } from './options.js';
export type { LogPage } from './query.js';
export type { ReadStats } from './reverse-reader.js';
export { LOGS_ERRORS } from './errors.js';

/** Running totals of the logs plugin, for diagnostics and for checking its memory bounds. */
export interface LogsStats extends ReadStats {
  /** Pages answered. */
  queries: number;
  /** Most bytes a single page read. */
  maxBytesPerQuery: number;
  /** Open SSE streams. */
  streams: number;
  /** Open followers of the file (0 or 1); each holds a watcher, a timer and a file handle. */
  tailSessions: number;
}

/** What the plugin provides as the `logs` service. */
export interface LogsService {
  /** The NDJSON file read, or undefined when the app writes none. */
  readonly file: string | undefined;
  stats(): LogsStats;
}

declare module '../../core/services.js' {
  interface Services {
    logs: LogsService;
  }
}

/**
 * Reads the app's NDJSON log files: `GET /api/logs` pages through them newest first (reading
 * from the end in chunks, never whole files) and `GET /api/logs/stream` tails the active file
 * as Server-Sent Events. Both are admin routes.
 * @example createApp({ name: 'api', logger: { file: { path: './logs/app.log' } }, plugins: [createLogsPlugin()] })
 */
export function createLogsPlugin(options: LogsOptions = {}): ServerPlugin<LogsSettings> {
  let file: string | undefined;
  let tail: LogTail | undefined;
  let streams: LogStreams | undefined;
  const totals: Omit<LogsStats, 'streams' | 'tailSessions'> = {
    ...emptyReadStats(),
    queries: 0,
    maxBytesPerQuery: 0,
  };

  const query =
    (settings: LogsSettings): RequestHandler =>
    async (req, res) => {
      const request = parsePageRequest(req.query as Record<string, unknown>, settings);
      if (!file) throw notConfigured();
      const abort = new AbortController();
      const onClose = () => abort.abort();
      res.once('close', onClose);
      const stats = emptyReadStats();
      let page: LogPage;
      try {
        page = await queryLogs(file, request, settings, stats, abort.signal);
      } finally {
        res.off('close', onClose);
        totals.queries++;
        totals.bytesRead += stats.bytesRead;
        totals.reads += stats.reads;
        totals.oversizedLines += stats.oversizedLines;
        totals.maxBytesPerQuery = Math.max(totals.maxBytesPerQuery, stats.bytesRead);
      }
      res.setHeader('cache-control', 'no-store');
      res.json(page);
    };

  return {
    name: 'logs',
    version: CORE_VERSION,
    ui: logsPanel,
    config: { schema: logsOptionsSchema, options },
    onInit(ctx) {
      const configured = ctx.config.file ?? ctx.app.logFile;
      file = configured === undefined ? undefined : path.resolve(configured);
      if (!file)
        ctx.logger.warn(
          'the app writes no log file; /api/logs answers 404 until one is configured',
        );
      const settings = ctx.config;
      tail = file
        ? new LogTail(
            file,
            {
              pollInterval: settings.pollInterval,
              chunkSize: settings.chunkSize,
              maxLineLength: settings.maxLineLength,
            },
            ctx.logger,
          )
        : undefined;
      const logStreams = new LogStreams(() => tail, settings);
      streams = logStreams;
      // Streams never finish on their own; end them as shutdown begins so draining does not wait.
      ctx.events.on('app:shutdown', () => logStreams.closeAll());
      ctx.provide('logs', {
        file,
        stats: () => ({
          ...totals,
          streams: logStreams.count(),
          tailSessions: tail?.stats().sessions ?? 0,
        }),
      });
    },
    routes: (ctx) => [
      {
        method: 'get',
        path: '/api/logs',
        access: 'admin',
        permission: 'logs:read',
        handler: query(ctx.config),
        description: 'Query the NDJSON log files, newest first',
      },
      {
        method: 'get',
        path: '/api/logs/stream',
        access: 'admin',
        permission: 'logs:read',
        handler: streams!.handler(),
        description: 'Live tail of the log file (Server-Sent Events)',
      },
    ],
    async onShutdown() {
      streams?.closeAll();
      await tail?.close();
    },
  };
}
