import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { builtInPluginNames, generatePlugin, pluginNameProblem } from './generate.js';
import { CORE_VERSION } from '../core/version.js';
import { linkFramework, scratchFolder, runTsc, runVitest } from './test-support/product.js';
import { cli } from './test-support/run-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const version = CORE_VERSION;

const scratch = scratchFolder('generate-plugin-');

/** A product folder, as `npm install @qwickapps/server` would leave it. */
async function product(name: string): Promise<string> {
  const folder = path.join(scratch(), name);
  await mkdir(folder);
  await writeFile(
    path.join(folder, 'package.json'),
    JSON.stringify({ name, private: true, type: 'module' }),
  );
  await linkFramework(folder);
  return folder;
}

const PLUGIN_FILES = [
  'index.ts',
  'options.ts',
  'routes.ts',
  'panel.ts',
  'errors.ts',
  'inventory-sync.test.ts',
];

describe('qwickapps generate plugin', () => {
  it('writes a plugin into a product whose generated test passes unchanged', async () => {
    const folder = await product('shop');
    const plugins = path.join(folder, 'src', 'plugins');
    const run = await cli(['generate', 'plugin', 'inventory-sync', '--dir', plugins]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const shown = path.relative(ROOT, path.join(plugins, 'inventory-sync'));
    expect(run.stdout).toContain(`Wrote inventory-sync in ${shown}:`);
    for (const file of PLUGIN_FILES) expect(run.stdout).toContain(path.join(shown, file));
    expect(run.stdout).toContain('register createInventorySyncPlugin()');
    expect(run.stdout).toMatch(/npm install zod@\^4\./);

    const written = path.join(plugins, 'inventory-sync');
    expect((await readdir(written)).sort()).toEqual([...PLUGIN_FILES].sort());
    const sources = await Promise.all(
      PLUGIN_FILES.map((file) => readFile(path.join(written, file), 'utf8')),
    );
    // The public API only: a relative import never leaves the plugin's folder.
    for (const source of sources) {
      for (const [, specifier] of source.matchAll(/from '([^']+)'/g))
        expect(specifier).toMatch(
          /^(\.\/[a-z-]+\.js|@qwickapps\/server(\/.*)?|zod|vitest|node:.+)$/,
        );
    }
    // Laid out as Prettier would, with this repository's settings, so a product's check passes.
    const style = await prettier.resolveConfig(path.join(ROOT, 'src', 'index.ts'));
    for (const [index, file] of PLUGIN_FILES.entries())
      expect(
        await prettier.check(sources[index]!, { ...style, filepath: file }),
        `${file} is formatted`,
      ).toBe(true);
    expect(sources.join('\n')).toContain('export function createInventorySyncPlugin(');
    expect(sources.join('\n')).toContain("'INVENTORY_SYNC_INVALID_NAME'");

    const tests = await runVitest(folder);
    expect(tests.stdout + tests.stderr).toMatch(/Tests\s+4 passed \(4\)/);
    expect(tests.code).toBe(0);
  });

  it('writes src/plugins/<name> of the working folder by default', async () => {
    const folder = path.join(scratch(), 'default-dir');
    await mkdir(folder);
    const generated = await generatePlugin({ name: 'audit-trail', cwd: folder });
    expect(generated.directory).toBe(path.join(folder, 'src', 'plugins', 'audit-trail'));
    expect(generated.factory).toBe('createAuditTrailPlugin');
    const index = await readFile(path.join(generated.directory, 'index.ts'), 'utf8');
    expect(index).toContain("name: 'audit-trail'");
    expect(index).toContain("env: { greeting: 'AUDIT_TRAIL_GREETING' }");
  });

  // It runs the package's own vitest and then tsc: two processes, a while on a loaded machine.
  it(
    'writes a package with the framework as a peer dependency, whose test and build pass',
    { timeout: 90_000 },
    async () => {
      const parent = path.join(scratch(), 'packages');
      await mkdir(parent);
      const run = await cli(['generate', 'plugin', 'inventory-sync', '--package', '--dir', parent]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const folder = path.join(parent, 'inventory-sync');
      expect(run.stdout).toContain(path.join(path.relative(ROOT, folder), 'package.json'));

      const manifest = JSON.parse(await readFile(path.join(folder, 'package.json'), 'utf8')) as {
        name: string;
        type: string;
        exports: Record<string, { types: string; default: string }>;
        scripts: Record<string, string>;
        peerDependencies: Record<string, string>;
        devDependencies: Record<string, string>;
        dependencies?: Record<string, string>;
      };
      expect(manifest).toMatchObject({
        name: 'inventory-sync',
        type: 'module',
        exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
        scripts: { build: 'tsc -p tsconfig.build.json', test: 'vitest run' },
      });
      expect(manifest.peerDependencies['@qwickapps/server']).toBe(`^${version}`);
      expect(manifest.devDependencies['@qwickapps/server']).toBe(`^${version}`);
      // The framework is never a dependency of its own: the product's one copy is the one used.
      expect(manifest.dependencies).toBeUndefined();
      for (const tool of ['typescript', 'vitest'])
        expect(manifest.devDependencies[tool]).toBeTruthy();
      for (const file of ['tsconfig.json', 'tsconfig.build.json', 'README.md'])
        expect(existsSync(path.join(folder, file))).toBe(true);
      for (const file of PLUGIN_FILES)
        expect(existsSync(path.join(folder, 'src', file))).toBe(true);

      await linkFramework(folder);
      const tests = await runVitest(folder);
      expect(tests.stdout + tests.stderr).toMatch(/Tests\s+4 passed \(4\)/);
      expect(tests.code).toBe(0);
      // `npm run build`: strict types against the framework's, and dist without the tests.
      const build = await runTsc(path.join(folder, 'tsconfig.build.json'));
      expect(build.stdout + build.stderr).toBe('');
      expect(build.code).toBe(0);
      expect((await readdir(path.join(folder, 'dist'))).sort()).toEqual(
        ['errors', 'index', 'options', 'panel', 'routes'].flatMap((name) => [
          `${name}.d.ts`,
          `${name}.js`,
        ]),
      );
    },
  );

  it('refuses a name that is not kebab case, exit 2, writing nothing', async () => {
    const parent = path.join(scratch(), 'bad-names');
    for (const name of ['InventorySync', 'inventory_sync', 'sync-', 'a--b', '9lives']) {
      const run = await cli(['generate', 'plugin', name, '--dir', parent]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`"${name}" is not a plugin name: expected kebab case`);
    }
    expect(existsSync(parent)).toBe(false);
    // Commander reads a leading dash as an option, so this one is checked without the CLI.
    expect(pluginNameProblem('-sync', [])).toMatch(/^"-sync" is not a plugin name/);
    expect(pluginNameProblem(`a${'b'.repeat(50)}`, [])).toMatch(/1 to 50 characters/);
    expect(pluginNameProblem('inventory-sync2', [])).toBeUndefined();
  });

  it("refuses a built-in plugin's name", async () => {
    expect(builtInPluginNames()).toEqual(expect.arrayContaining(['cache', 'rate-limit', 'users']));
    const run = await cli(['generate', 'plugin', 'rate-limit', '--dir', scratch()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"rate-limit" is the name of a built-in plugin');
    expect(existsSync(path.join(scratch(), 'rate-limit'))).toBe(false);
  });

  it('refuses a folder that is not empty, naming what it would overwrite, until --force', async () => {
    const parent = path.join(scratch(), 'taken');
    const folder = path.join(parent, 'billing');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'index.ts'), '// mine\n');
    await writeFile(path.join(folder, 'notes.txt'), 'keep\n');

    const refused = await cli(['generate', 'plugin', 'billing', '--dir', parent]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('these files would be overwritten: index.ts.');
    expect(refused.stderr).toContain('--force');
    expect(await readFile(path.join(folder, 'index.ts'), 'utf8')).toBe('// mine\n');
    expect(existsSync(path.join(folder, 'options.ts'))).toBe(false);

    const forced = await cli(['generate', 'plugin', 'billing', '--dir', parent, '--force']);
    expect(forced.code).toBe(0);
    expect(await readFile(path.join(folder, 'index.ts'), 'utf8')).toContain(
      'export function createBillingPlugin(',
    );
    expect(await readFile(path.join(folder, 'notes.txt'), 'utf8')).toBe('keep\n');
  });

  it('refuses a folder holding other files, naming them', async () => {
    const parent = path.join(scratch(), 'other-files');
    await mkdir(path.join(parent, 'billing'), { recursive: true });
    await writeFile(path.join(parent, 'billing', 'notes.txt'), 'keep\n');
    const refused = await cli(['generate', 'plugin', 'billing', '--package', '--dir', parent]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not empty (it holds notes.txt)');
  });
});
