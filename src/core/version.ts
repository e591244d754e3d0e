import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@qwickapps/server';

/** The fields of this package's package.json that the framework and its CLI read. */
export interface PackageManifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

let manifest: PackageManifest | undefined;

/**
 * This package's own package.json, found by walking up from this file: it sits two folders up
 * from `src/core` and three from `dist/src/core`, so one walk serves source (tsx, vitest) and the
 * build alike. The name is checked so that a product's package.json is never taken for ours.
 * Read once.
 */
export function packageManifest(): PackageManifest {
  if (manifest) return manifest;
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const file = path.join(directory, 'package.json');
    if (existsSync(file)) {
      const found = JSON.parse(readFileSync(file, 'utf8')) as Partial<PackageManifest>;
      if (found.name === PACKAGE_NAME && found.version)
        return (manifest = found as PackageManifest);
    }
    directory = path.dirname(directory);
  }
  throw new Error(
    `Cannot find the package.json of ${PACKAGE_NAME} above ${fileURLToPath(import.meta.url)}: the package is installed incompletely.`,
  );
}

/**
 * The framework's version (`package.json`, read once at load). Plugins state the range they
 * need as `requires.core`; every built-in plugin carries this version, as they ship together.
 * @example definePlugin({ name: 'audit', requires: { core: `^${CORE_VERSION}` } })
 */
export const CORE_VERSION: string = packageManifest().version;
