import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import { CONFIGURATION_FILES, askMissing, productNameProblem } from './new.js';
import type { TemplateName } from './templates/product-files.js';
import { CORE_VERSION } from '../core/version.js';
import { GATEWAY_ENV, SERVICE_ENV, SIGN_IN_ENV } from '../product/env.js';
import { linkFramework, scratchFolder, runVitest } from './test-support/product.js';
import { cli } from './test-support/run-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const version = CORE_VERSION;

const scratch = scratchFolder('qwickapps-new-');

/** Lines of a configuration module that say something: neither blank nor a comment. */
function configurationLines(source: string): number {
  return source
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^\s*(\/\/|\/\*\*|\*)/.test(line)).length;
}

/** Every file under `folder`, relative to it, without node_modules. */
async function filesUnder(folder: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(folder, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name === 'node_modules') continue;
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(folder, relative)));
    else files.push(relative);
  }
  return files.sort();
}

interface Running {
  output: () => string;
  stop: () => Promise<number | null>;
}

/** `npm start` of a generated product: tsx on its entry, until it says it is listening. */
async function start(folder: string, env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: folder,
    env: { ...process.env, NODE_ENV: 'development', MANAGEMENT_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening in 60 s:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on http/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return {
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Generates a template into the scratch folder, as a user runs it, without the install. */
async function generate(
  template: TemplateName,
  extra: string[] = [],
  name: string = template,
): Promise<string> {
  const folder = path.join(scratch(), name);
  const run = await cli([
    'new',
    `my-${template}`,
    '--template',
    template,
    '--no-install',
    '--dir',
    folder,
    ...extra,
  ]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return folder;
}

const TEMPLATE_TESTS: Record<TemplateName, number> = { minimal: 3, service: 5, product: 9 };

describe.each(['minimal', 'service', 'product'] as const)(
  'qwickapps new --template %s',
  (template) => {
    let folder: string;
    beforeAll(async () => {
      folder = await generate(template);
      await linkFramework(folder, ['tsx']);
    });

    it('writes a package on the framework, with a README, .env.example and CI workflow', async () => {
      const manifest = JSON.parse(await readFile(path.join(folder, 'package.json'), 'utf8')) as {
        name: string;
        type: string;
        scripts: Record<string, string>;
        dependencies: Record<string, string>;
      };
      expect(manifest).toMatchObject({ name: `my-${template}`, type: 'module' });
      expect(manifest.dependencies['@qwickapps/server']).toBe(`^${version}`);
      // The drivers its databases need: a signed-in product's gateway keeps users in SQLite.
      expect('better-sqlite3' in manifest.dependencies).toBe(template === 'product');
      expect(Object.keys(manifest.scripts)).toEqual(expect.arrayContaining(['start', 'test']));

      const readme = await readFile(path.join(folder, 'README.md'), 'utf8');
      // Its two commands first: run it on embedded defaults, run its tests.
      expect(readme.split('\n').slice(2, 6).join('\n')).toMatch(
        /^```sh\nnpm start .*\nnpm test .*\n```$/,
      );

      // .env.example names every variable the product reads, and only those: the framework's
      // presets' (the product's gateway with its sign-in provider, or the service), or its entry's.
      const example = await readFile(path.join(folder, '.env.example'), 'utf8');
      const listed = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
      const read = new Set<string>(
        template === 'product'
          ? [...Object.keys(GATEWAY_ENV), ...Object.keys(SIGN_IN_ENV.dev)]
          : template === 'service'
            ? Object.keys(SERVICE_ENV)
            : [],
      );
      if (template === 'minimal') {
        const source = await readFile(path.join(folder, 'src/main.ts'), 'utf8');
        for (const [, name] of source.matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)) read.add(name!);
      }
      expect([...read].sort()).toEqual([...new Set(listed)].sort());

      const ci = await readFile(path.join(folder, '.github', 'workflows', 'ci.yml'), 'utf8');
      expect(ci).toContain('npm ci');
      expect(ci).toContain('npm test');
      // Valid YAML whose deploy job uploads the code, then deploys that release.
      const workflow = parseYaml(ci) as { jobs: { deploy: { steps: { run?: string }[] } } };
      const runs = workflow.jobs.deploy.steps.flatMap((step) => (step.run ? [step.run] : []));
      expect(runs.slice(-2)).toEqual([
        'npx qwickapps release api $GITHUB_SHA release',
        'npx qwickapps deploy api $GITHUB_SHA',
      ]);
      expect(ci).toContain('QWICKAPPS_TOKEN: ${{ secrets.QWICKAPPS_TOKEN }}');
    });

    it('writes TypeScript laid out as Prettier would', async () => {
      const style = await prettier.resolveConfig(path.join(ROOT, 'src', 'index.ts'));
      const files = (await filesUnder(folder)).filter((file) => /\.(ts|json|md|html)$/.test(file));
      for (const file of files) {
        const source = await readFile(path.join(folder, file), 'utf8');
        expect(
          await prettier.check(source, { ...style, filepath: file }),
          `${file} is formatted`,
        ).toBe(true);
      }
    });

    it('keeps each configuration module under 40 lines', async () => {
      for (const file of CONFIGURATION_FILES[template]) {
        const lines = configurationLines(await readFile(path.join(folder, file), 'utf8'));
        console.log(`${template}: ${file} has ${lines} lines of configuration`);
        expect(lines, file).toBeLessThan(40);
      }
    });

    it("passes its own tests with this repository's vitest", async () => {
      const tests = await runVitest(folder);
      expect(tests.stdout + tests.stderr).toMatch(
        new RegExp(`Tests\\s+${TEMPLATE_TESTS[template]} passed \\(${TEMPLATE_TESTS[template]}\\)`),
      );
      expect(tests.code).toBe(0);
    }, 180_000);
  },
);

describe('a generated product, started', () => {
  const folders: Partial<Record<TemplateName, string>> = {};
  beforeAll(async () => {
    for (const template of ['minimal', 'service'] as const) {
      folders[template] = await generate(template, [], `${template}-started`);
      await linkFramework(folders[template], ['tsx']);
    }
  });

  it('minimal: npm start answers on its port, then stops', async () => {
    const folder = folders.minimal!;
    const port = await freePort();
    const app = await start(folder, { PORT: String(port), DATA_DIR: path.join(folder, '.data') });
    try {
      const hello = await fetch(`http://127.0.0.1:${port}/api/hello?name=Ada`);
      expect(await hello.json()).toEqual({ message: 'Hello, Ada!' });
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/api/logs`)).status).toBe(200);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 90_000);

  it('service: npm start answers on its port with its database and cache, then stops', async () => {
    const folder = folders.service!;
    const port = await freePort();
    const app = await start(folder, { PORT: String(port), DATA_DIR: path.join(folder, '.data') });
    try {
      const hello = await fetch(`http://127.0.0.1:${port}/api/v1/hello`);
      expect(await hello.json()).toEqual({ message: 'Hello, world!', version: 'v1' });
      const stats = await fetch(`http://127.0.0.1:${port}/api/v1/stats`);
      expect(await stats.json()).toMatchObject({ database: 'postgresql', views: 1 });
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/me`)).status).toBe(401);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 90_000);

  it('fails at once naming a bad variable', async () => {
    const run = start(folders.minimal!, { PORT: 'abc' });
    await expect(run).rejects.toThrow(/exited with 1:[\s\S]*PORT/);
  }, 60_000);
});

describe('qwickapps new refusals', () => {
  it('refuses a folder that is not empty, naming what it would overwrite, until --force', async () => {
    const folder = path.join(scratch(), 'taken');
    await mkdir(folder);
    await writeFile(path.join(folder, 'package.json'), '{}\n');
    await writeFile(path.join(folder, 'notes.txt'), 'keep\n');
    const refused = await cli([
      'new',
      'shop',
      '--template',
      'minimal',
      '--no-install',
      '--dir',
      folder,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('these files would be overwritten: package.json.');
    expect(refused.stderr).toContain('--force');
    expect(await readFile(path.join(folder, 'package.json'), 'utf8')).toBe('{}\n');
    expect(existsSync(path.join(folder, 'src'))).toBe(false);

    const forced = await cli([
      'new',
      'shop',
      '--template',
      'minimal',
      '--no-install',
      '--dir',
      folder,
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('Creating shop (minimal, auth none, database pglite)');
    expect(forced.stdout).toContain(
      `wrote ${path.join(path.relative(ROOT, folder), 'src', 'app.ts')}`,
    );
    expect(await readFile(path.join(folder, 'notes.txt'), 'utf8')).toBe('keep\n');
  });

  it('refuses a folder holding other files, naming them', async () => {
    const folder = path.join(scratch(), 'other-files');
    await mkdir(folder);
    await writeFile(path.join(folder, 'notes.txt'), 'keep\n');
    const refused = await cli(['new', 'shop', '--no-install', '--dir', folder]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not empty (it holds notes.txt)');
  });

  it('refuses a name that is not kebab case, exit 2, writing nothing', async () => {
    for (const name of ['Shop', 'my_shop', 'shop-', '9lives']) {
      const run = await cli([
        'new',
        name,
        '--no-install',
        '--dir',
        path.join(scratch(), 'bad-name'),
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`"${name}" is not a product name: expected kebab case`);
    }
    expect(existsSync(path.join(scratch(), 'bad-name'))).toBe(false);
    expect(productNameProblem('my-shop2')).toBeUndefined();
  });

  it('refuses a template, provider or database it does not know, exit 2', async () => {
    const folder = path.join(scratch(), 'bad-choice');
    for (const [flag, value, allowed] of [
      ['--template', 'huge', 'product, service, minimal'],
      ['--auth', 'ldap', 'none, auth0, supabase, dev'],
      ['--database', 'oracle', 'pglite, postgres, mysql, sqlite'],
    ]) {
      const run = await cli(['new', 'shop', flag!, value!, '--no-install', '--dir', folder]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${flag} "${value}" is not one of ${allowed}.`);
    }
    expect(existsSync(folder)).toBe(false);
  });
});

describe('qwickapps new --template product, per sign-in provider', () => {
  it.each(['none', 'auth0', 'supabase'] as const)(
    '%s: .env.example names its variables, and the page signs in as the provider does',
    async (auth) => {
      const folder = await generate('product', ['--auth', auth], `product-${auth}`);
      const example = await readFile(path.join(folder, '.env.example'), 'utf8');
      const listed = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
      expect(listed.sort()).toEqual(
        [...Object.keys(GATEWAY_ENV), ...Object.keys(SIGN_IN_ENV[auth])].sort(),
      );
      expect(await readFile(path.join(folder, 'src', 'product.ts'), 'utf8')).toContain(
        `auth: '${auth}',`,
      );
      const page = await readFile(path.join(folder, 'public', 'index.html'), 'utf8');
      expect(page.includes('href="/auth/login"')).toBe(auth === 'auth0');
      expect(page.includes('name="password"')).toBe(auth === 'supabase');
      expect(existsSync(path.join(folder, 'public', 'sign-in.js'))).toBe(auth !== 'none');
      // Without sign-in there are no API keys: the workflow deploys with the MANAGEMENT_TOKEN.
      const ci = await readFile(path.join(folder, '.github', 'workflows', 'ci.yml'), 'utf8');
      expect(ci.includes("QWICKAPPS_TOKEN: the gateway's MANAGEMENT_TOKEN")).toBe(auth === 'none');
      expect(ci.includes('an API key scoped to traffic:deploy:api')).toBe(auth !== 'none');
    },
  );
});

describe('qwickapps new refusals of flags a template has no use for', () => {
  it('refuses --auth outside the product template and --database for minimal, exit 2', async () => {
    const folder = path.join(scratch(), 'unused-flag');
    for (const [template, flag, value, reason] of [
      ['service', '--auth', 'auth0', 'a service trusts the identity its gateway forwards'],
      ['minimal', '--auth', 'dev', 'the minimal template has no sign-in'],
      ['minimal', '--database', 'postgres', 'the minimal template has no database'],
    ]) {
      const run = await cli([
        'new',
        'shop',
        '--template',
        template!,
        flag!,
        value!,
        '--no-install',
        '--dir',
        folder,
      ]);
      expect(run.code, `${template} ${flag}`).toBe(2);
      expect(run.stderr).toContain(`${flag} applies to the product`);
      expect(run.stderr).toContain(reason);
    }
    expect(existsSync(folder)).toBe(false);
  });
});

describe('qwickapps new prompts', () => {
  /** A stream that says it is a terminal. */
  const terminal = <T extends PassThrough>(stream: T) => Object.assign(stream, { isTTY: true });

  it('asks in a terminal for each answer not given as a flag, defaulting on Enter', async () => {
    const input = terminal(new PassThrough());
    const output = terminal(new PassThrough());
    let shown = '';
    output.on('data', (chunk: Buffer) => {
      shown += chunk.toString();
      // One answer per question: the template, then Enter for the provider's default.
      if (shown.endsWith('[product]: ')) input.write('product\n');
      if (shown.endsWith('[dev]: ')) input.write('\n');
    });
    const answered = await askMissing(
      { name: 'shop', database: 'sqlite' },
      input as unknown as NodeJS.ReadStream,
      output as unknown as NodeJS.WriteStream,
    );
    expect(answered).toMatchObject({ template: 'product', auth: 'dev', database: 'sqlite' });
    expect(shown).toContain('template (product, service, minimal) [product]: ');
    expect(shown).not.toContain('database (');
  });

  it('asks for the name until it is one, when none was given', async () => {
    const input = terminal(new PassThrough());
    const output = terminal(new PassThrough());
    let shown = '';
    let asked = 0;
    output.on('data', (chunk: Buffer) => {
      shown += chunk.toString();
      if (shown.endsWith('like shop): ')) input.write(asked++ === 0 ? 'My Shop\n' : 'my-shop\n');
    });
    const answered = await askMissing(
      { template: 'minimal', auth: 'none', database: 'pglite' },
      input as unknown as NodeJS.ReadStream,
      output as unknown as NodeJS.WriteStream,
    );
    expect(answered.name).toBe('my-shop');
    expect(shown).toContain('"My Shop" is not a product name');
  });

  it('without a terminal, asks nothing and requires the name as an argument', async () => {
    const run = await cli(['new', '--no-install', '--dir', path.join(scratch(), 'no-name')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('A product name is required: qwickapps new <name>');
    expect(run.stdout).not.toContain('name (');
    expect(existsSync(path.join(scratch(), 'no-name'))).toBe(false);
  });

  it('never asks without a terminal', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const answered = await askMissing(
      { name: 'shop' },
      input as unknown as NodeJS.ReadStream,
      output as unknown as NodeJS.WriteStream,
    );
    expect(answered).toEqual({ name: 'shop' });
    expect(output.read()).toBeNull();
  });
});
