import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pluginsDir = path.join(root, 'src/plugins');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; default: string }>;
};
const pluginFolders = readdirSync(pluginsDir).filter(
  (entry) => statSync(path.join(pluginsDir, entry)).isDirectory() && entry !== 'test-support',
);

/** Libraries that must only load inside a plugin that uses them. */
const HEAVY = [
  'undici',
  'drizzle-orm',
  '@electric-sql/pglite',
  'pg',
  'mysql2',
  'better-sqlite3',
  'keyv',
  '@keyv/redis',
  '@redis/client',
  'helmet',
  'express-rate-limit',
  'rate-limit-redis',
  'react',
  'react-dom',
  'ws',
  'jose',
  'passport',
  'openid-client',
  '@casl/ability',
];

/** Static (non-type) imports of a source file: what loading it loads. */
function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  const pattern = /^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(pattern)) {
    const clause = match[0];
    // `import { type A, type B } from` loads nothing at run time.
    if (/^\s*(import|export)\s*\{\s*(type\s+\w+\s*(as\s+\w+\s*)?,?\s*)+\}\s*from/.test(clause))
      continue;
    specifiers.push(match[1]);
  }
  return specifiers;
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('public surface', () => {
  it('gives every plugin folder its own subpath export and a factory in @qwickapps/server/plugins', async () => {
    expect(pluginFolders.length).toBeGreaterThan(0);
    const barrel = await import('../src/plugins/index.js');
    for (const folder of pluginFolders) {
      expect(
        pkg.exports[`./plugins/${folder}`],
        `package.json exports ./plugins/${folder}`,
      ).toEqual({
        types: `./dist/src/plugins/${folder}/index.d.ts`,
        default: `./dist/src/plugins/${folder}/index.js`,
      });
      const factory = `create${folder
        .split('-')
        .map((part) => part[0].toUpperCase() + part.slice(1))
        .join('')}Plugin`;
      expect(
        typeof (barrel as Record<string, unknown>)[factory],
        `${factory} exported from src/plugins/index.ts`,
      ).toBe('function');
    }
  });

  it('keeps heavy libraries out of the static import graph of @qwickapps/server/plugins', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of staticImports(file)) {
        if (specifier.startsWith('.')) {
          visit(path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'));
        } else if (HEAVY.includes(packageOf(specifier))) {
          offenders.push(`${path.relative(root, file)} imports ${specifier}`);
        }
      }
    };
    visit(path.join(pluginsDir, 'index.ts'));
    expect(seen.size).toBeGreaterThan(pluginFolders.length);
    expect(offenders).toEqual([]);
  });

  it("lets no plugin load another plugin's code at run time, but the static file server", () => {
    // A plugin reaches another through its declared dependency and the service registry (types
    // only). The exceptions, named here: routing brings static plugins as companions for its
    // static routes, and the control panel serves its UI with the static plugin's file server.
    const companions: Record<string, string[]> = {
      routing: ['static'],
      'control-panel': ['static'],
    };
    const offenders: string[] = [];
    for (const folder of pluginFolders) {
      for (const file of sourceFiles(path.join(pluginsDir, folder))) {
        for (const specifier of [...staticImports(file), ...dynamicImports(file)]) {
          if (!specifier.startsWith('.')) continue;
          const target = path.relative(pluginsDir, path.resolve(path.dirname(file), specifier));
          const sibling = target.split(path.sep)[0];
          if (target.startsWith('..') || sibling === folder || !pluginFolders.includes(sibling))
            continue;
          if (!(companions[folder] ?? []).includes(sibling))
            offenders.push(`${path.relative(root, file)} loads ${specifier}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});

/** `import('...')` calls: code a file loads lazily. */
function dynamicImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (match) => match[1],
  );
}

/** A plugin folder's own source, tests and test helpers left out. */
function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'test-support' ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}
