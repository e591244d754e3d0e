import { chromium, type Browser } from 'playwright-core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../../../src/index.js';
import { createDemoGateway, type DemoGatewayOptions } from '../../../demo/gateway.js';
import { baseUrl, waitFor } from '../../support/http.js';
import { freePort } from '../../support/ports.js';

export const ADMIN_PASSWORD = 'e2e-admin-password';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const UI_INDEX = path.join(repoRoot, 'dist-ui', 'cpanel', 'index.html');

/** Fails with what to do when the UI has not been built (CI runs `npm run build` before the tests). */
export function requireBuiltUi(): void {
  if (!existsSync(UI_INDEX)) {
    throw new Error(
      `The control panel UI is not built (${UI_INDEX} is missing). Run \`npm run build:ui\` (or \`npm run build\`) before the tests.`,
    );
  }
}

export interface FullApp {
  app: App;
  base: string;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * The demo product as `npm start` runs it: its gateway in this process, its API service as a
 * supervised child process, every built-in page's plugin present. Data and logs in a temp folder.
 * `traffic` shortens the demo's promotion waits for tests that deploy.
 */
export async function startFullApp(
  options: { traffic?: DemoGatewayOptions['traffic'] } = {},
): Promise<FullApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cpanel-e2e-'));
  const logFile = path.join(dataDir, 'logs', 'e2e.log');
  const app = createDemoGateway({
    port: 0,
    host: '127.0.0.1',
    servicePort: await freePort(),
    dataDir,
    logFile,
    adminPassword: ADMIN_PASSWORD,
    stdout: false,
    traffic: options.traffic,
    // The panel's Database page needs a database plugin; the demo gateway has one only when
    // DATABASE_URL names a server, so the browser tests give it an in-memory one.
    databaseUrl: 'memory://',
  });
  const cleanup = async () => {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await app.start();
    const base = baseUrl(app);
    await waitFor(
      async () => (await fetch(`${base}/api/v1/hello`).catch(() => undefined))?.status === 200,
      'the demo API service answers through the gateway',
      60_000,
    );
    return { app, base, logFile, stop: cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export const CHROMIUM = '/usr/bin/chromium';

/**
 * True when Debian's Chromium is installed. When it is not: in CI (`CI=true`) this throws, so a
 * missing browser fails the run; elsewhere it prints a loud warning and the caller skips.
 * @example describe.skipIf(!chromiumAvailable('the demo sign-in'))(...)
 */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is not installed`;
  if (process.env.CI) throw new Error(`${message}; CI requires it for ${suite}.`);
  console.warn(
    `\n!!! SKIPPING ${suite} in a browser: ${message}. Install chromium to run it. !!!\n`,
  );
  return false;
}

/** Debian's headless Chromium, as every browser test drives it: no network of its own, no sync. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
