/**
 * A plugin published as its own npm package, as a product would install and run it: the package
 * is built in a temporary folder with the framework as a peer dependency, installed into a
 * product's node_modules beside the framework, and loaded by the product with a dynamic import.
 *
 * The installed framework is this repository's source: its package.json is this package's, with
 * each export pointed from `dist/src/*.js` to `src/*.ts` (so no build is needed), and the product
 * runs under tsx in its own process, so Node resolves every import exactly as for a user.
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, string | { types?: string; default: string }>;
};
const tsxLoader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const workspace = mkdtempSync(path.join(os.tmpdir(), 'qwickapps-plugin-package-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** The plugin's own package: an ESM factory built with `definePlugin`, nothing compiled. */
function buildPluginPackage(folder: string, coreRange: string): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    path.join(folder, 'package.json'),
    JSON.stringify(
      {
        name: 'acme-greeting',
        version: '1.2.0',
        type: 'module',
        exports: { '.': './index.js' },
        peerDependencies: { [manifest.name]: `^${manifest.version}` },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    path.join(folder, 'index.js'),
    `import { readFileSync } from 'node:fs';
import { definePlugin } from '@qwickapps/server';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

export function createGreetingPlugin() {
  return definePlugin({
    name: 'greeting',
    version,
    requires: { core: ${JSON.stringify(coreRange)}, plugins: { health: '>=0.1.0' } },
    dependencies: ['health'],
    routes: [
      {
        method: 'get',
        path: '/api/greeting',
        handler: (_req, res) => res.json({ greeting: 'hello', from: 'acme-greeting', version }),
      },
    ],
  });
}
`,
  );
}

/** The framework as npm would install it, pointing at this repository's source. */
function installFramework(nodeModules: string): void {
  const folder = path.join(nodeModules, manifest.name);
  mkdirSync(folder, { recursive: true });
  const exports = Object.fromEntries(
    Object.entries(manifest.exports).map(([subpath, target]) => [
      subpath,
      typeof target === 'string'
        ? target
        : target.default.replace(/^\.\/dist\/src\//, './src/').replace(/\.js$/, '.ts'),
    ]),
  );
  writeFileSync(
    path.join(folder, 'package.json'),
    JSON.stringify({ name: manifest.name, version: manifest.version, type: 'module', exports }),
  );
  symlinkSync(path.join(root, 'src'), path.join(folder, 'src'), 'dir');
}

/** A product with the framework and the plugin package installed, and its start script. */
function buildProduct(name: string, coreRange: string): string {
  const pluginSource = path.join(workspace, `${name}-acme-greeting`);
  buildPluginPackage(pluginSource, coreRange);
  const product = path.join(workspace, name);
  const nodeModules = path.join(product, 'node_modules');
  installFramework(nodeModules);
  // Copied, as installing the packed package would: a symlink would resolve the plugin's own
  // imports from its source folder, where no framework is installed.
  cpSync(pluginSource, path.join(nodeModules, 'acme-greeting'), { recursive: true });
  writeFileSync(
    path.join(product, 'package.json'),
    JSON.stringify({ name, private: true, type: 'module' }),
  );
  writeFileSync(
    path.join(product, 'main.mjs'),
    `import { createApp } from '@qwickapps/server';
import { createHealthPlugin } from '@qwickapps/server/plugins/health';

const report = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
try {
  const { createGreetingPlugin } = await import('acme-greeting');
  const app = createApp({
    name: ${JSON.stringify(name)},
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { readinessDelay: 0 },
    plugins: [createGreetingPlugin(), createHealthPlugin()],
  });
  await app.start();
  report({ url: app.context.url(), plugins: app.context.plugins() });
} catch (error) {
  report({ error: error.message, code: error.code, name: error.name });
  process.exit(1);
}
`,
  );
  return product;
}

interface Started {
  line: Record<string, unknown>;
  /** The exit code, once the product exits by itself. */
  exited: Promise<number | null>;
  /** Stops the product as an operator would (SIGTERM) and resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Runs the product's start script and waits for its first line (listening, or the error). */
function runProduct(product: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, 'main.mjs'], {
      cwd: product,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline === -1) return;
      resolve({
        line: JSON.parse(stdout.slice(0, newline)) as Record<string, unknown>,
        exited,
        stop: () => (child.exitCode === null && child.kill('SIGTERM'), exited),
      });
    });
    void exited.then((code) =>
      reject(new Error(`product exited (${code}) before a line; stderr:\n${stderr}`)),
    );
  });
}

describe('a plugin published as its own package', () => {
  it('is loaded, checked and run: its route answers in the product', async () => {
    const product = buildProduct('shop', `^${manifest.version}`);
    const started = await runProduct(product);
    try {
      expect(started.line.error).toBeUndefined();
      const plugins = started.line.plugins as { name: string; version?: string }[];
      expect(plugins.map(({ name, version }) => `${name} ${version}`)).toEqual([
        `health ${manifest.version}`,
        'greeting 1.2.0',
      ]);
      const response = await fetch(`${String(started.line.url)}/api/greeting`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        greeting: 'hello',
        from: 'acme-greeting',
        version: '1.2.0',
      });
    } finally {
      expect(await started.stop()).toBe(0);
    }
  });

  it('fails start-up naming both sides when it needs another version of the framework', async () => {
    const product = buildProduct('old-shop', '^9.0.0');
    const started = await runProduct(product);
    expect(started.line).toEqual({
      name: 'PluginRequirementError',
      code: 'PLUGIN_REQUIREMENT_UNMET',
      error: `Plugin requirements not met (1):\n  - greeting 1.2.0 requires core ^9.0.0, found ${manifest.version}`,
    });
    expect(await started.exited).toBe(1);
  });
});
