import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DOC_PATH,
  ROOT,
  loadErrorTables,
  renderErrorCodes,
  type OwnedTable,
} from '../scripts/error-codes.js';

const CODE = String.raw`[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+`;
/** A status and a code side by side: `new HttpError(404, 'X'`, `problemBody(429, 'X'`, `reject(409, 'X'`, `{ status: 504, code: 'X' }`. */
const WITH_STATUS = [
  new RegExp(String.raw`\b([1-5]\d\d),\s*'(${CODE})'`, 'g'),
  new RegExp(String.raw`status:\s*([1-5]\d\d),\s*code:\s*'(${CODE})'`, 'g'),
];
/** Calls that answer with a code whose status is a variable, and `code:` members. */
const ERROR_CALL =
  /(?:new HttpError|problemBody|writeRawProblem|refuse|reject|unavailable|this\.answer)\(/g;
const CODE_MEMBER = new RegExp(String.raw`\bcode:\s*'(${CODE})'`, 'g');
const CODE_LITERAL = new RegExp(String.raw`'(${CODE})'`, 'g');

/** The core's codes are the admin gate's, the request's, and the 404 and 500 answers. */
const CORE_PREFIXES = ['ADMIN_', 'REQUEST_', 'ROUTE_', 'INTERNAL_'];
/** Folder names whose prefix is not the folder's own name in upper snake case. */
const PREFIX_OF: Record<string, string> = { 'control-panel': 'CPANEL_' };
const prefixOf = (owner: string) =>
  PREFIX_OF[owner] ?? `${owner.toUpperCase().replaceAll('-', '_')}_`;

interface Use {
  code: string;
  status?: number;
  owner: string;
  file: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test-support' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Every code the source answers with, by owner: `src/plugins/<name>/` is that plugin's, the rest the core's. */
function scanUses(): Use[] {
  const uses: Use[] = [];
  for (const full of sourceFiles(path.join(ROOT, 'src'))) {
    const file = path.relative(ROOT, full);
    if (file.endsWith(`${path.sep}errors.ts`)) continue;
    const parts = file.split(path.sep);
    const owner = parts[1] === 'plugins' && parts.length > 3 ? parts[2] : 'core';
    // Doc comments show examples (`USERS_NOT_FOUND`), not codes the code raises.
    const text = readFileSync(full, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const pattern of WITH_STATUS)
      for (const match of text.matchAll(pattern))
        uses.push({ code: match[2], status: Number(match[1]), owner, file });
    for (const match of text.matchAll(CODE_MEMBER)) uses.push({ code: match[1], owner, file });
    for (const call of text.matchAll(ERROR_CALL)) {
      const end = text.indexOf(';', call.index);
      const span = text.slice(call.index, end === -1 ? undefined : end).slice(0, 400);
      for (const match of span.matchAll(CODE_LITERAL)) uses.push({ code: match[1], owner, file });
    }
  }
  return uses;
}

const tables = await loadErrorTables();
const tableOf = (owner: string): OwnedTable['table'] =>
  tables.find((entry) => entry.owner === owner)?.table ?? {};
const uses = scanUses();

describe('the table of error codes', () => {
  it('finds the codes the source raises (the scan itself works)', () => {
    expect(
      uses.some(
        (use) => use.code === 'CACHE_UNAVAILABLE' && use.status === 503 && use.owner === 'cache',
      ),
    ).toBe(true);
    expect(uses.some((use) => use.code === 'ROUTE_NOT_FOUND' && use.owner === 'core')).toBe(true);
    expect(
      uses.some((use) => use.code === 'CPANEL_LOGIN_DELAYED' && use.owner === 'control-panel'),
    ).toBe(true);
    // The example in a doc comment of core/errors.ts is no use; the users plugin's own throws are.
    expect(uses.some((use) => use.code === 'USERS_NOT_FOUND' && use.owner === 'core')).toBe(false);
    expect(uses.some((use) => use.code === 'USERS_NOT_FOUND' && use.owner === 'users')).toBe(true);
  });

  it("lists every code in its plugin's (or the core's) table, with the status the code answers", () => {
    const missing = uses
      .filter((use) => !(use.code in tableOf(use.owner)))
      .map((use) => `${use.code} (${use.file}): not in the ${use.owner} table`);
    const wrongStatus = uses
      .filter(
        (use) =>
          use.status !== undefined &&
          use.code in tableOf(use.owner) &&
          tableOf(use.owner)[use.code].status !== use.status,
      )
      .map(
        (use) =>
          `${use.code} (${use.file}): answers ${use.status}, the ${use.owner} table says ${tableOf(use.owner)[use.code].status}`,
      );
    expect([...new Set([...missing, ...wrongStatus])]).toEqual([]);
  });

  it('lists no code the source no longer raises', () => {
    const stale = tables.flatMap(({ owner, table }) =>
      Object.keys(table)
        .filter((code) => !uses.some((use) => use.owner === owner && use.code === code))
        .map((code) => `${owner}: ${code}`),
    );
    expect(stale).toEqual([]);
  });

  it("prefixes each plugin's codes with the plugin's name, and the core's with its own prefixes", () => {
    const wrong = tables.flatMap(({ owner, table }) =>
      Object.keys(table)
        .filter((code) =>
          owner === 'core'
            ? !CORE_PREFIXES.some((prefix) => code.startsWith(prefix))
            : !code.startsWith(prefixOf(owner)),
        )
        .map((code) => `${owner}: ${code}`),
    );
    expect(wrong).toEqual([]);
  });

  it('keeps docs/error-codes.md current (npx tsx scripts/error-codes.ts writes it)', () => {
    expect(readFileSync(DOC_PATH, 'utf8')).toBe(renderErrorCodes(tables));
  });
});
