import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EnvSpec } from '../src/index.js';
import { createGateway, type Gateway } from '../src/gateway/index.js';
import { createCachePlugin, createDatabasePlugin } from '../src/plugins/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled (dist/demo/*.js) the service runs as plain node; from source (tests) through tsx.
const compiled = import.meta.url.endsWith('.js');
const repoRoot = compiled ? path.resolve(here, '..', '..') : path.resolve(here, '..');
const SERVICE_ARGS = compiled ? [path.join(here, 'service-main.js')] : ['--import', 'tsx', path.join(here, 'service-main.ts')];
const PUBLIC_DIR = path.join(repoRoot, 'demo', 'public');

export interface DemoGatewayOptions {
  port?: number;
  host?: string;
  /** Where the API service listens. Default 3100. */
  servicePort?: number;
  /** Where embedded data and logs live. Default `./.data`. */
  dataDir?: string;
  /** The gateway's NDJSON log file. Default `<dataDir>/logs/gateway.log`. */
  logFile?: string;
  /** The control panel password; default `ADMIN_PASSWORD`, else a one-time password in development. */
  adminPassword?: string;
  stdout?: boolean;
  env?: EnvSpec;
  /** Passed to the service process (DATABASE_URL, REDIS_URL, ...). */
  serviceEnv?: Record<string, string>;
}

/**
 * The demo product's GREEN gateway on embedded defaults: the frontend at `/`, the API service
 * (a separate, supervised process) at `/api/v1/*`, the control panel at `/cpanel`. The gateway's
 * own database (PGlite) and cache (memory) keep its state and back its panel pages.
 */
export function createDemoGateway(options: DemoGatewayOptions = {}): Gateway {
  const dataDir = path.resolve(options.dataDir ?? '.data');
  const servicePort = options.servicePort ?? 3100;
  return createGateway({
    name: 'demo-gateway',
    version: '1.0.0',
    port: options.port ?? 3101,
    host: options.host ?? '0.0.0.0',
    env: options.env,
    logger: {
      level: 'info',
      stdout: options.stdout ?? false,
      file: { path: options.logFile ?? path.join(dataDir, 'logs', 'gateway.log'), maxBytes: 10 * 1024 * 1024, maxFiles: 5 },
    },
    routing: {
      routes: [{ id: 'api', match: '/api/v1/*', target: `http://127.0.0.1:${servicePort}`, health: { path: '/health/ready', interval: 2_000 } }],
    },
    frontend: { root: PUBLIC_DIR, spa: true },
    services: [
      {
        name: 'api',
        command: process.execPath,
        args: SERVICE_ARGS,
        cwd: repoRoot,
        port: servicePort,
        env: { VERSION: 'v1', DATA_DIR: dataDir, ...options.serviceEnv },
      },
    ],
    controlPanel: { branding: { title: 'Demo operations' }, ...(options.adminPassword ? { password: options.adminPassword } : {}) },
    plugins: [createDatabasePlugin({ url: `pglite:${path.join(dataDir, 'gateway', 'pglite')}` }), createCachePlugin({ namespace: 'gateway' })],
  });
}
