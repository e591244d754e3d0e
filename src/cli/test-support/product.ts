import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { Run } from './run-cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * A temporary folder for the file's tests, made before them and removed after: call it at the
 * top of a test file, and the answer gives the folder's path inside the tests.
 */
export function scratchFolder(prefix: string): () => string {
  let folder: string | undefined;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });
  return () => folder!;
}

/**
 * Makes `folder` resolve `@qwickapps/server` to this checkout's TypeScript source, as an installed
 * package resolves to its dist: a package folder whose exports name `./src/...` through a symlink
 * to this repository's `src`. The published exports point at `dist`, which a clean clone has not
 * built, and the source is what the tests of this commit must exercise. zod, vitest and the Node
 * types (and `extra` packages: tsx, a database driver) are links to this repository's copies, as
 * an install would provide them.
 */
export async function linkFramework(folder: string, extra: string[] = []): Promise<void> {
  const framework = path.join(folder, 'node_modules', '@qwickapps', 'server');
  await mkdir(framework, { recursive: true });
  await symlink(path.join(ROOT, 'src'), path.join(framework, 'src'), 'dir');
  await writeFile(
    path.join(framework, 'package.json'),
    JSON.stringify({
      name: '@qwickapps/server',
      version: '0.0.0-checkout',
      type: 'module',
      exports: {
        '.': './src/index.ts',
        './plugins': './src/plugins/index.ts',
        './plugins/*': './src/plugins/*/index.ts',
        './gateway': './src/gateway/index.ts',
        './product': './src/product/index.ts',
      },
    }),
  );
  for (const dependency of ['zod', 'vitest', '@types/node', ...extra]) {
    const link = path.join(folder, 'node_modules', dependency);
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(path.join(ROOT, 'node_modules', dependency), link, 'dir');
  }
}

/** `node <script> ...args` in `cwd`, in its own process, none of the outer run's VITEST variables. */
export function runNode(script: string, args: string[], cwd: string): Promise<Run> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_ENV'),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd,
      env: { ...env, NO_COLOR: '1', CI: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** This repository's vitest on `root`, as a user runs `npx vitest run` there. */
export function runVitest(root: string): Promise<Run> {
  return runNode(
    path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
    ['run', '--root', root],
    root,
  );
}

/** This repository's tsc on a project, as `npm run build` runs it there. */
export function runTsc(project: string): Promise<Run> {
  return runNode(
    path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    ['-p', project],
    path.dirname(project),
  );
}
