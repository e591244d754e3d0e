import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, definePlugin, type App } from '../../../src/index.js';
import { createCachePlugin } from '../../../src/plugins/cache/index.js';
import { createConfigPlugin } from '../../../src/plugins/config/index.js';
import { createControlPanelPlugin } from '../../../src/plugins/control-panel/index.js';
import { createDatabasePlugin } from '../../../src/plugins/database/index.js';
import { createDiagnosticsPlugin } from '../../../src/plugins/diagnostics/index.js';
import { createHealthPlugin } from '../../../src/plugins/health/index.js';
import { createLogsPlugin } from '../../../src/plugins/logs/index.js';
import { createRoutingPlugin } from '../../../src/plugins/routing/index.js';
import { baseUrl } from '../../support/http.js';

export const ADMIN_PASSWORD = 'e2e-admin-password';
export const MIGRATION_NAME = '0001_e2e_notes';
/** Plugins whose built-in pages the end-to-end tests visit. */
const REQUIRED_PLUGINS = ['health', 'diagnostics', 'config', 'logs', 'cache', 'database', 'routing', 'control-panel'];

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const UI_INDEX = path.join(repoRoot, 'dist-ui', 'cpanel', 'index.html');

/** Fails with what to do when the UI has not been built (CI runs `npm run build` before the tests). */
export function requireBuiltUi(): void {
  if (!existsSync(UI_INDEX)) {
    throw new Error(`The control panel UI is not built (${UI_INDEX} is missing). Run \`npm run build:ui\` (or \`npm run build\`) before the tests.`);
  }
}

export interface FullApp {
  app: App;
  base: string;
  logFile: string;
  stop(): Promise<void>;
}

interface DemoFactory {
  createDemoApp(options: { port?: number; host?: string; dataDir?: string; logFile?: string; adminPassword?: string; stdout?: boolean }): App;
}

/**
 * The demo product when it carries every plugin the panel shows; until then the same plugins
 * assembled here: embedded PGlite with one migration, the memory cache, a proxy route to a
 * second local app, all behind the control panel.
 */
export async function startFullApp(): Promise<FullApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cpanel-e2e-'));
  const logFile = path.join(dataDir, 'logs', 'e2e.log');
  const stops: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const stop of stops.reverse()) await stop();
    rmSync(dataDir, { recursive: true, force: true });
  };

  const upstream = createApp({
    name: 'upstream',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins: [createHealthPlugin(), definePlugin({ name: 'echo', routes: [{ method: 'get', path: '/echo', handler: (_req, res) => void res.json({ upstream: true }) }] })],
  });
  await upstream.start();
  stops.push(() => upstream.stop());

  const demo = (await import('../../../demo/app.js').catch(() => undefined)) as DemoFactory | undefined;
  let app = demo?.createDemoApp({ port: 0, host: '127.0.0.1', dataDir, logFile, adminPassword: ADMIN_PASSWORD, stdout: false });
  const registered = new Set(app?.context.plugins().map((plugin) => plugin.name) ?? []);
  if (!app || !REQUIRED_PLUGINS.every((name) => registered.has(name))) {
    const migrations = path.join(dataDir, 'migrations');
    mkdirSync(migrations, { recursive: true });
    writeFileSync(path.join(migrations, `${MIGRATION_NAME}.sql`), 'CREATE TABLE e2e_notes (id serial PRIMARY KEY, body text NOT NULL);\n');
    app = createApp({
      name: 'demo',
      version: 'e2e',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'info', stdout: false, file: { path: logFile } },
      shutdown: { signals: false, readinessDelay: 0 },
      plugins: [
        createControlPanelPlugin({ password: ADMIN_PASSWORD, branding: { title: 'Demo operations' } }),
        createHealthPlugin(),
        createDiagnosticsPlugin(),
        createConfigPlugin(),
        createLogsPlugin(),
        createCachePlugin(),
        createDatabasePlugin({ migrations }),
        createRoutingPlugin({ routes: [{ id: 'upstream', match: '/svc/*', target: baseUrl(upstream), stripPrefix: true }] }),
        definePlugin({ name: 'hello', version: 'e2e', routes: [{ method: 'get', path: '/api/v1/hello', handler: (req, res) => void res.json({ hello: req.query.name ?? 'world' }) }] }),
      ],
    });
  }
  try {
    await app.start();
  } catch (error) {
    await cleanup();
    throw error;
  }
  stops.push(() => app.stop());
  return { app, base: baseUrl(app), logFile, stop: cleanup };
}
