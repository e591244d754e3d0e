import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CliError } from './client.js';
import { packageManifest } from '../core/version.js';
import { MINIMAL_ENDPOINTS, MINIMAL_ENV, minimalFiles } from './templates/minimal.js';
import {
  AUTH_CHOICES,
  DATABASE_CHOICES,
  DRIVER,
  TEMPLATES,
  ciWorkflowFile,
  envExampleFile,
  gitignoreFile,
  packageJsonFile,
  readmeFile,
  tsconfigFile,
  type AuthChoice,
  type DatabaseChoice,
  type ProductSpec,
  type ProductVersions,
  type TemplateName,
} from './templates/product-files.js';
import { SERVICE_ENDPOINTS, serviceEnv, serviceFiles } from './templates/service.js';
import { PRODUCT_ENDPOINTS, productEnv, productFiles } from './templates/product.js';

export interface NewProductOptions {
  /** Kebab case, like `shop`: the package's, the folder's and the app's name. */
  name?: string;
  template?: string;
  /** The product's folder. Default `./<name>`. */
  dir?: string;
  auth?: string;
  database?: string;
  /** Write into a folder that is not empty. */
  force?: boolean;
  /** Skip `npm install` (default: run it in the new folder). */
  install?: boolean;
  /** Where relative paths start. Default the process's working directory. */
  cwd?: string;
  /** Progress lines while it writes and installs. */
  report?: (line: string) => void;
}

export interface NewProduct {
  directory: string;
  template: TemplateName;
  files: string[];
  installed: boolean;
}

/** An npm package name without a scope, which is also a folder and an app name. */
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_NAME_LENGTH = 50;

/** The files a team writes and keeps: the assembly of plugins, counted against the 40-line goal. */
export const CONFIGURATION_FILES: Record<TemplateName, string[]> = {
  minimal: ['src/app.ts'],
  service: ['src/service.ts'],
  product: ['src/product.ts'],
};

/** Why `name` cannot name a new product, or undefined when it can. */
export function productNameProblem(name: string): string | undefined {
  if (NAME.test(name) && name.length <= MAX_NAME_LENGTH) return undefined;
  return `"${name}" is not a product name: expected kebab case, 1 to ${MAX_NAME_LENGTH} characters of a-z, 0-9 and single dashes, starting with a letter (like "shop")`;
}

function choice<T extends string>(
  option: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(`--${option} "${value}" is not one of ${allowed.join(', ')}.`, 2);
}

/** Versions from this package's own manifest, so a product follows the framework it came from. */
function productVersions(): ProductVersions {
  const manifest = packageManifest();
  const known = {
    ...manifest.devDependencies,
    ...manifest.peerDependencies,
    ...manifest.dependencies,
  };
  const drivers: Record<string, string> = {};
  for (const driver of Object.values(DRIVER)) if (driver) drivers[driver] = known[driver] ?? '*';
  return {
    framework: manifest.version,
    zod: known.zod ?? '^4.0.0',
    tsx: known.tsx ?? '^4.0.0',
    typescript: known.typescript ?? '^5.9.0',
    vitest: known.vitest ?? '^4.0.0',
    typesNode: known['@types/node'] ?? '^20.0.0',
    drivers,
  };
}

/** Every file of the product, by its path inside the product's folder. */
export function productFilesOf(spec: ProductSpec): Map<string, string> {
  const own =
    spec.template === 'minimal'
      ? { files: minimalFiles(spec), env: MINIMAL_ENV, endpoints: MINIMAL_ENDPOINTS }
      : spec.template === 'service'
        ? { files: serviceFiles(spec), env: serviceEnv(spec), endpoints: SERVICE_ENDPOINTS }
        : { files: productFiles(spec), env: productEnv(spec), endpoints: PRODUCT_ENDPOINTS };
  const about = {
    minimal: 'One app with health, logs and one route.',
    service:
      "One API service meant to run behind a qwickapps gateway: health, logs, config, database, cache and the gateway's forwarded identity.",
    product:
      'A gateway with the control panel at `/cpanel`, the `api` service in traffic slots (deploy, promote, roll back), a static frontend at `/`, auth, users, roles, database and cache.',
  }[spec.template];
  const files = new Map<string, string>([
    ['package.json', packageJsonFile(spec)],
    ['README.md', readmeFile(spec, about, own.endpoints)],
    ['.env.example', envExampleFile(own.env)],
    ['.gitignore', gitignoreFile()],
    ['tsconfig.json', tsconfigFile()],
    ['.github/workflows/ci.yml', ciWorkflowFile(spec)],
  ]);
  for (const [file, text] of own.files) files.set(file, text);
  return files;
}

/** A product signs users in (the development sign-in until a provider is chosen); the rest trust a gateway. */
function defaultAuth(template: string | undefined): AuthChoice {
  return template === undefined || template === 'product' ? 'dev' : 'none';
}

/** Asks for what was not given as a flag, only when both ends are a terminal. */
export async function askMissing(
  options: NewProductOptions,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stdout,
): Promise<NewProductOptions> {
  if (!input.isTTY || !output.isTTY) return options;
  const missing = (['template', 'auth', 'database'] as const).filter(
    (key) => options[key] === undefined,
  );
  if (missing.length === 0 && options.name !== undefined) return options;
  const readline = createInterface({ input, output });
  const answered = { ...options };
  const lists = { template: TEMPLATES, auth: AUTH_CHOICES, database: DATABASE_CHOICES };
  try {
    while (answered.name === undefined) {
      const name = (await readline.question('name (kebab case, like shop): ')).trim();
      const problem = productNameProblem(name);
      if (problem === undefined) answered.name = name;
      else output.write(`${problem}\n`);
    }
    for (const key of missing) {
      // Only a product signs users in, and a minimal app keeps no data.
      if (key === 'auth' && answered.template !== 'product') continue;
      if (key === 'database' && answered.template === 'minimal') continue;
      const allowed = lists[key];
      const fallback = key === 'auth' ? defaultAuth(answered.template) : allowed[0]!;
      const answer = (await readline.question(`${key} (${allowed.join(', ')}) [${fallback}]: `))
        .trim()
        .toLowerCase();
      answered[key] = answer === '' ? fallback : answer;
    }
  } finally {
    readline.close();
  }
  return answered;
}

function npmInstall(directory: string, report: (line: string) => void): Promise<void> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return new Promise((resolve, reject) => {
    const child = spawn(npm, ['install', '--no-audit', '--no-fund'], {
      cwd: directory,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const last = output.trimEnd().split('\n').at(-1);
      if (last) report(`  npm: ${last.slice(0, 120)}`);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => reject(new CliError(`npm install failed: ${error.message}`, 1)));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new CliError(
              `npm install failed (exit ${code}) in ${directory}; the files are written, run npm install there again:\n${output.trim().split('\n').slice(-10).join('\n')}`,
              1,
            ),
          ),
    );
  });
}

/** Why a flag means nothing for the template (so it is refused, not ignored), or undefined. */
function unusedChoices(template: TemplateName, options: NewProductOptions): string | undefined {
  if (options.auth !== undefined && template !== 'product')
    return `--auth applies to the product template only: ${template === 'service' ? 'a service trusts the identity its gateway forwards (AUTH_FORWARD_SECRET), whichever provider signed the user in' : 'the minimal template has no sign-in'}.`;
  if (options.database !== undefined && template === 'minimal')
    return '--database applies to the product and service templates: the minimal template has no database.';
  return undefined;
}

/**
 * Writes a new product from a template (`product`, `service`, `minimal`) and installs it. Refuses
 * a bad name or choice, and a folder that is not empty unless `force`, naming what it would
 * overwrite.
 * @example await newProduct({ name: 'shop', template: 'service', install: false })
 */
export async function newProduct(options: NewProductOptions): Promise<NewProduct> {
  if (options.name === undefined)
    throw new CliError('A product name is required: qwickapps new <name> (like shop).', 2);
  const problem = productNameProblem(options.name);
  if (problem !== undefined) throw new CliError(problem, 2);
  const template = choice('template', options.template, TEMPLATES, 'product');
  const unused = unusedChoices(template, options);
  if (unused !== undefined) throw new CliError(unused, 2);
  const spec: ProductSpec = {
    name: options.name,
    template,
    auth: choice<AuthChoice>('auth', options.auth, AUTH_CHOICES, defaultAuth(template)),
    database: choice<DatabaseChoice>('database', options.database, DATABASE_CHOICES, 'pglite'),
    versions: productVersions(),
  };
  const report = options.report ?? (() => {});
  const cwd = options.cwd ?? process.cwd();
  const directory = path.resolve(cwd, options.dir ?? options.name);
  const shown = path.relative(cwd, directory) || '.';
  const files = productFilesOf(spec);

  const present = existsSync(directory) ? await readdir(directory) : [];
  if (present.length > 0 && !options.force) {
    const overwritten = [...files.keys()].filter((file) => existsSync(path.join(directory, file)));
    throw new CliError(
      overwritten.length > 0
        ? `${shown} is not empty; these files would be overwritten: ${overwritten.join(', ')}. Pass --force to overwrite them, or choose another --dir.`
        : `${shown} is not empty (it holds ${present.sort().join(', ')}). Pass --force to write the product there anyway, or choose another --dir.`,
      1,
    );
  }

  report(
    `Creating ${spec.name} (${template}, auth ${spec.auth}, database ${spec.database}) in ${shown}`,
  );
  for (const [file, text] of files) {
    const target = path.join(directory, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
    report(`  wrote ${path.join(shown, file)}`);
  }
  const install = options.install !== false;
  if (install) {
    report('Installing dependencies (npm install)...');
    await npmInstall(directory, report);
  }
  return { directory, template, files: [...files.keys()], installed: install };
}
