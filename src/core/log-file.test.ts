import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RotatingFileStream } from './log-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'log-file-'));
  dirs.push(dir);
  return dir;
}
const flushed = (stream: RotatingFileStream) => new Promise<void>((resolve) => stream.flush(() => resolve()));

describe('RotatingFileStream', () => {
  it('rotates by size while lines keep coming, losing none and keeping their order', async () => {
    const dir = tempDir();
    const stream = new RotatingFileStream({ path: path.join(dir, 'app.log'), maxBytes: 64 * 1024, maxFiles: 50 });
    const total = 5_000;
    for (let index = 0; index < total; index++) {
      stream.write(`${JSON.stringify({ index, pad: 'x'.repeat(60) })}\n`);
      if (index % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await flushed(stream);
    await stream.close();
    // Oldest first: the highest rotated number, down to .1, then the active file.
    const age = (file: string) => (file === 'app.log' ? 0 : Number(file.split('.').pop()));
    const files = readdirSync(dir).sort((a, b) => age(b) - age(a));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const indexes = files.flatMap((file) => readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line).index as number));
    // Oldest rotated file first, the active file last: every line once, in order.
    expect(indexes).toEqual(Array.from({ length: total }, (_, index) => index));
  });

  it('writes a quiet logger\'s lines within the flush interval, without being asked', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    const stream = new RotatingFileStream({ path: file, flushInterval: 20 });
    stream.write('{"msg":"one"}\n');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(readFileSync(file, 'utf8')).toBe('{"msg":"one"}\n');
    await stream.close();
    stream.write('{"msg":"after close"}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"msg":"one"}\n');
  });
});
