import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { createApp, type App, type AppOptions } from '../../../index.js';
import { captureLogs } from '../../../../test/support/http.js';

/**
 * A built UI in miniature (index.html and one hashed asset, precompressed as `npm run build:ui`
 * leaves it), so these tests do not need the build.
 */
export function uiFixture(): { dir: string; asset: string; assetBody: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cpanel-ui-'));
  mkdirSync(path.join(dir, 'assets'));
  // Named as Vite names its output: `<name>-<8-character hash>.<ext>`.
  const asset = 'assets/index-B2x_k9Qa.js';
  const assetBody = `console.log(${JSON.stringify('x'.repeat(4096))});\n`;
  writeFileSync(path.join(dir, asset), assetBody);
  writeFileSync(path.join(dir, `${asset}.br`), brotliCompressSync(assetBody));
  writeFileSync(path.join(dir, `${asset}.gz`), gzipSync(assetBody));
  writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8" /><title>Control panel</title><script type="module" src="./assets/index-B2x_k9Qa.js"></script></head><body><div id="root"></div></body></html>',
  );
  return { dir, asset, assetBody, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts an app on a free loopback port with quiet, captured logs. */
export async function startApp(
  plugins: AppOptions['plugins'],
  extra: Pick<AppOptions, 'trustProxy'> = {},
): Promise<{ app: App; logs: Record<string, unknown>[] }> {
  const capture = captureLogs();
  const app = createApp({
    name: 'cpanel-test',
    port: 0,
    host: '127.0.0.1',
    logger: { destination: capture.stream, level: 'info' },
    shutdown: { signals: false, readinessDelay: 0 },
    plugins,
    ...extra,
  });
  await app.start();
  return { app, logs: capture.lines };
}

/** Logs in through the API; returns the cookie header value and the CSRF token. */
export async function login(
  base: string,
  user: string,
  password: string,
): Promise<{ cookie: string; csrfToken: string }> {
  const response = await fetch(`${base}/cpanel/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  if (response.status !== 200) throw new Error(`login answered ${response.status}`);
  const body = (await response.json()) as { csrfToken: string };
  return { cookie: response.headers.get('set-cookie')!.split(';')[0], csrfToken: body.csrfToken };
}
