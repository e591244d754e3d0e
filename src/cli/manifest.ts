import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fields of this package's package.json that the CLI reads. */
export interface PackageManifest {
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** This package's package.json, found by walking up from this file (src/cli or dist/src/cli). */
export function packageManifest(): PackageManifest {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const file = path.join(directory, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as PackageManifest;
    directory = path.dirname(directory);
  }
  return {};
}
