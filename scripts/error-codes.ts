// Writes docs/error-codes.md from the core's and every plugin's error table (`errors.ts`).
// Usage: npx tsx scripts/error-codes.ts   (test/error-codes.test.ts fails when the file is stale)
import { readdirSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CORE_ERRORS, STARTUP_ERRORS, type ErrorCodeTable } from '../src/core/errors.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DOC_PATH = path.join(ROOT, 'docs', 'error-codes.md');

/** One table and who owns it: `core`, or a plugin's folder name. */
export interface OwnedTable {
  owner: string;
  table: ErrorCodeTable;
}

/** The core's table, then each plugin's `errors.ts` (its one exported table), by folder name. */
export async function loadErrorTables(): Promise<OwnedTable[]> {
  const pluginsDir = path.join(ROOT, 'src', 'plugins');
  const folders = readdirSync(pluginsDir, { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && existsSync(path.join(pluginsDir, entry.name, 'errors.ts')),
    )
    .map((entry) => entry.name)
    .sort();
  const tables: OwnedTable[] = [{ owner: 'core', table: CORE_ERRORS }];
  for (const folder of folders) {
    const module = (await import(
      pathToFileURL(path.join(pluginsDir, folder, 'errors.ts')).href
    )) as Record<string, ErrorCodeTable>;
    const exported = Object.values(module);
    if (exported.length !== 1)
      throw new Error(
        `src/plugins/${folder}/errors.ts must export exactly one table (found ${exported.length}).`,
      );
    tables.push({ owner: folder, table: exported[0] });
  }
  return tables;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

export function renderErrorCodes(tables: readonly OwnedTable[]): string {
  const lines = [
    '# Error codes',
    '',
    'Every error answer is `application/problem+json` with a stable `code`. This file is generated from',
    "the core's table (`src/core/errors.ts`) and each plugin's `errors.ts` by `npx tsx scripts/error-codes.ts`;",
    'a test fails when it is out of date, or when the code raises a code no table lists.',
    '',
  ];
  for (const { owner, table } of tables) {
    lines.push(
      `## ${owner === 'core' ? 'Core' : `${owner} plugin`}`,
      '',
      '| Code | Status | Meaning |',
      '| --- | --- | --- |',
    );
    for (const [code, { status, meaning }] of Object.entries(table).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      lines.push(`| \`${code}\` | ${status} | ${cell(meaning)} |`);
    }
    lines.push('');
  }
  lines.push(
    '## Start-up errors',
    '',
    'Thrown by `createApp` or `start()`, never answered over HTTP.',
    '',
    '| Code | Meaning |',
    '| --- | --- |',
  );
  for (const [code, { meaning }] of Object.entries(STARTUP_ERRORS))
    lines.push(`| \`${code}\` | ${cell(meaning)} |`);
  lines.push('');
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(DOC_PATH, renderErrorCodes(await loadErrorTables()));
  console.log(`wrote ${path.relative(ROOT, DOC_PATH)}`);
}
