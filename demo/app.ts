import path from 'node:path';
import { createApp, type App } from '../src/index.js';
import { createConfigPlugin, createDiagnosticsPlugin, createHealthPlugin, createLogsPlugin } from '../src/plugins/index.js';
import { createHelloPlugin } from './hello.js';

export interface DemoAppOptions {
  port?: number;
  host?: string;
  /** Where embedded data and logs live. Default `./.data`. */
  dataDir?: string;
  /** The NDJSON log file. Default `<dataDir>/logs/demo.log`. */
  logFile?: string;
  version?: string;
  /** Log to stdout as well as the file. Default true. */
  stdout?: boolean;
}

/**
 * The demo product on embedded defaults: the four infrastructure plugins and a small API.
 * @example const app = createDemoApp({ port: 0 }); await app.start();
 */
export function createDemoApp(options: DemoAppOptions = {}): App {
  const dataDir = path.resolve(options.dataDir ?? '.data');
  const version = options.version ?? 'v1';
  return createApp({
    name: 'demo',
    version,
    port: options.port ?? 3101,
    host: options.host ?? '0.0.0.0',
    logger: {
      level: 'info',
      stdout: options.stdout ?? true,
      file: { path: options.logFile ?? path.join(dataDir, 'logs', 'demo.log'), maxBytes: 10 * 1024 * 1024, maxFiles: 5 },
    },
    plugins: [createHealthPlugin(), createDiagnosticsPlugin(), createConfigPlugin(), createLogsPlugin(), createHelloPlugin(version)],
  });
}
