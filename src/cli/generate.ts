import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './client.js';
import { CORE_VERSION, packageManifest } from '../core/version.js';
import {
  gitignoreFile,
  packageJsonFile,
  readmeFile,
  tsconfigBuildFile,
  tsconfigFile,
  type PackageVersions,
} from './templates/package.js';
import {
  errorsFile,
  indexFile,
  optionsFile,
  panelFile,
  pluginNames,
  routesFile,
  testFile,
} from './templates/plugin.js';

export interface GeneratePluginOptions {
  name: string;
  /** The folder the plugin's folder goes in. Default `src/plugins`, or `.` with `package`. */
  dir?: string;
  /** A standalone npm package (package.json, tsconfig, README, src/) instead of a product folder. */
  package?: boolean;
  /** Overwrite files in a folder that is not empty. */
  force?: boolean;
  /** Where relative paths start. Default the process's working directory. */
  cwd?: string;
}

export interface GeneratedPlugin {
  /** The plugin's folder, absolute. */
  directory: string;
  /** The files written, relative to `directory`. */
  files: string[];
  /** The factory's name, `createInventorySyncPlugin`. */
  factory: string;
  /** The zod range the plugin is written for: the framework's own. */
  zod: string;
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_NAME_LENGTH = 50;

/**
 * The framework's own plugins, read from the plugins folder beside this CLI (src/plugins or
 * dist/src/plugins), so a plugin added to the framework is refused without a list to update.
 */
export function builtInPluginNames(): string[] {
  const folder = fileURLToPath(new URL('../plugins/', import.meta.url));
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Why `name` cannot name a new plugin, or undefined when it can. */
export function pluginNameProblem(
  name: string,
  builtIns = builtInPluginNames(),
): string | undefined {
  if (!KEBAB.test(name) || name.length > MAX_NAME_LENGTH)
    return `"${name}" is not a plugin name: expected kebab case, 1 to ${MAX_NAME_LENGTH} characters of a-z, 0-9 and single dashes, starting with a letter (like "inventory-sync")`;
  if (builtIns.includes(name))
    return `"${name}" is the name of a built-in plugin: two plugins of one app cannot share a name, so choose another (built-in: ${builtIns.join(', ')})`;
  return undefined;
}

/** Versions from this package's own manifest, so a generated package follows the framework. */
function packageVersions(): PackageVersions {
  const manifest = packageManifest();
  const dependencies = { ...manifest.devDependencies, ...manifest.dependencies };
  return {
    framework: manifest.version,
    zod: dependencies.zod ?? '^4.0.0',
    typescript: dependencies.typescript ?? '^5.9.0',
    vitest: dependencies.vitest ?? '^4.0.0',
    typesNode: dependencies['@types/node'] ?? '^20.0.0',
  };
}

/** Every file of the plugin, by its path inside the plugin's folder. */
function pluginFiles(name: string, asPackage: boolean): Map<string, string> {
  const names = pluginNames(name);
  const source = asPackage ? 'src/' : '';
  const files = new Map<string, string>();
  if (asPackage) {
    const versions = packageVersions();
    files.set('package.json', packageJsonFile(names, versions));
    files.set('tsconfig.json', tsconfigFile());
    files.set('tsconfig.build.json', tsconfigBuildFile());
    files.set('.gitignore', gitignoreFile());
    files.set('README.md', readmeFile(names, versions));
  }
  files.set(`${source}index.ts`, indexFile(names, CORE_VERSION));
  files.set(`${source}options.ts`, optionsFile(names));
  files.set(`${source}routes.ts`, routesFile(names));
  files.set(`${source}panel.ts`, panelFile(names));
  files.set(`${source}errors.ts`, errorsFile(names));
  files.set(`${source}${name}.test.ts`, testFile(names));
  return files;
}

/**
 * Writes a plugin folder: inside a product (`<dir>/<name>/index.ts, options.ts, ...`) or, with
 * `package`, a package of its own with the framework as a peer dependency. Refuses a bad name
 * and a folder that is not empty unless `force`, naming what it would overwrite.
 * @example await generatePlugin({ name: 'inventory-sync' }) // src/plugins/inventory-sync/
 */
export async function generatePlugin(options: GeneratePluginOptions): Promise<GeneratedPlugin> {
  const problem = pluginNameProblem(options.name);
  if (problem !== undefined) throw new CliError(problem, 2);
  const cwd = options.cwd ?? process.cwd();
  const parent = path.resolve(cwd, options.dir ?? (options.package ? '.' : 'src/plugins'));
  const directory = path.join(parent, options.name);
  const files = pluginFiles(options.name, options.package === true);

  const present = existsSync(directory) ? await readdir(directory) : [];
  if (present.length > 0 && !options.force) {
    const overwritten = [...files.keys()].filter((file) => existsSync(path.join(directory, file)));
    const shown = path.relative(cwd, directory) || '.';
    throw new CliError(
      overwritten.length > 0
        ? `${shown} is not empty; these files would be overwritten: ${overwritten.join(', ')}. Pass --force to overwrite them, or choose another name or --dir.`
        : `${shown} is not empty (it holds ${present.sort().join(', ')}). Pass --force to write the plugin there anyway, or choose another name or --dir.`,
      1,
    );
  }

  for (const [file, text] of files) {
    const target = path.join(directory, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  return {
    directory,
    files: [...files.keys()],
    factory: `create${pluginNames(options.name).pascal}Plugin`,
    zod: packageVersions().zod,
  };
}
