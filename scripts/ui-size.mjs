// Prints the gzipped size of the control panel's initial load (the JS and CSS index.html
// references, module preloads included) and fails when it passes the budget.
// Usage: node scripts/ui-size.mjs [budgetKiB]   (run `npm run build:ui` first)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = Number(process.argv[2] ?? 250);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist-ui', 'cpanel');
const indexPath = path.join(root, 'index.html');
if (!existsSync(indexPath)) {
  console.error(`${indexPath} is missing: run \`npm run build:ui\` first.`);
  process.exit(2);
}
const html = readFileSync(indexPath, 'utf8');
const references = new Set();
for (const match of html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)) references.add(match[1]);
for (const match of html.matchAll(
  /<link[^>]*\brel="(?:stylesheet|modulepreload)"[^>]*\bhref="([^"]+)"/g,
))
  references.add(match[1]);
for (const match of html.matchAll(
  /<link[^>]*\bhref="([^"]+)"[^>]*\brel="(?:stylesheet|modulepreload)"/g,
))
  references.add(match[1]);

let total = 0;
const rows = [];
for (const reference of references) {
  const file = path.join(root, reference.replace(/^\.?\//, ''));
  const gzipped = gzipSync(readFileSync(file), { level: 9 }).length;
  total += gzipped;
  rows.push(`${(gzipped / 1024).toFixed(1).padStart(8)} KiB  ${reference}`);
}
if (references.size === 0) {
  console.error('index.html references no script or stylesheet; is this the built UI?');
  process.exit(2);
}
console.log(rows.join('\n'));
console.log(
  `${(total / 1024).toFixed(1).padStart(8)} KiB  initial load, gzipped (budget ${BUDGET_KB} KiB)`,
);
if (total > BUDGET_KB * 1024) {
  console.error(`Over budget by ${((total - BUDGET_KB * 1024) / 1024).toFixed(1)} KiB.`);
  process.exit(1);
}
