import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createApp,
  definePlugin,
  flushLogger,
  type App,
  type AppOptions,
  type LogFileOptions,
} from '../../../index.js';
import { baseUrl } from '../../../../test/support/http.js';
import { createLogsPlugin, type LogsOptions, type LogsService } from '../index.js';

/** A route that logs what it is told, so tests decide the levels, messages and sequence numbers. */
const emitter = definePlugin({
  name: 'emitter',
  routes: [
    {
      method: 'post',
      path: '/test/emit',
      handler: (req, res) => {
        const lines = (
          req.body as {
            lines: {
              level: 'debug' | 'info' | 'warn' | 'error';
              msg: string;
              [key: string]: unknown;
            }[];
          }
        ).lines;
        for (const { level, msg, ...fields } of lines)
          req.context.logger[level]({ ...fields, requestId: req.id }, msg);
        res.json({ logged: lines.length });
      },
    },
    {
      method: 'get',
      path: '/api/v1/hello',
      handler: (_req, res) => void res.json({ hello: 'world' }),
    },
  ],
});

export interface LoggingApp {
  app: App;
  url: string;
  dir: string;
  logFile: string;
  logs: LogsService;
  /** Waits until every line logged so far is in the file. */
  flush(): Promise<void>;
}

const started: { app: App; dir: string }[] = [];

/**
 * Starts an app whose logger writes `<tmpdir>/app.log` at debug level, with the logs plugin.
 * `logs` may be a function of the temporary directory, to point the plugin at another file there;
 * `others` are more plugins (a control panel, whose guard then stands before the logs routes).
 */
export async function startLoggingApp(
  logs: LogsOptions | ((dir: string) => LogsOptions) = {},
  file: Partial<LogFileOptions> = {},
  others: AppOptions['plugins'] = [],
): Promise<LoggingApp> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qwick-logs-'));
  const logFile = path.join(dir, 'app.log');
  const app = createApp({
    name: 'logs-test',
    port: 0,
    host: '127.0.0.1',
    logger: {
      file: { path: logFile, maxBytes: 10 * 1024 * 1024, ...file },
      stdout: false,
      level: 'debug',
    },
    shutdown: { signals: false },
    plugins: [createLogsPlugin(typeof logs === 'function' ? logs(dir) : logs), emitter, ...others],
  });
  started.push({ app, dir });
  await app.start();
  return {
    app,
    url: baseUrl(app),
    dir,
    logFile,
    logs: app.context.services.get('logs'),
    flush: () => flushLogger(app.context.logger),
  };
}

/** Stops every app started by `startLoggingApp` and removes its directory. */
export async function stopLoggingApps(): Promise<void> {
  for (const { app, dir } of started.splice(0)) {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Logs lines through the app's own logger (so they are real, rotated, redacted lines). */
export async function emit(
  target: LoggingApp,
  lines: { level: 'debug' | 'info' | 'warn' | 'error'; msg: string; [key: string]: unknown }[],
  requestId?: string,
): Promise<void> {
  const response = await fetch(`${target.url}/test/emit`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(requestId ? { 'x-request-id': requestId } : {}),
    },
    body: JSON.stringify({ lines }),
  });
  if (response.status !== 200) throw new Error(`emit failed: ${response.status}`);
  await target.flush();
}
