import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReverseLineReader, emptyReadStats, type FileLine } from './reverse-reader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'qwick-reverse-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the reader must return: terminated, non-empty lines within the limit, last first, with their offsets. */
function expected(content: Buffer, maxLineLength: number): FileLine[] {
  const lines: FileLine[] = [];
  let start = 0;
  for (
    let newline = content.indexOf(0x0a);
    newline !== -1;
    newline = content.indexOf(0x0a, start)
  ) {
    const length = newline - start;
    if (length > 0 && length <= maxLineLength)
      lines.push({ text: content.toString('utf8', start, newline), start });
    start = newline + 1;
  }
  return lines.reverse();
}

async function readAll(file: string, end: number, chunkSize: number, maxLineLength: number) {
  const handle = await open(file, 'r');
  const stats = emptyReadStats();
  try {
    const reader = new ReverseLineReader(handle, end, { chunkSize, maxLineLength }, stats);
    const lines: FileLine[] = [];
    for (let line = await reader.next(); line; line = await reader.next()) lines.push(line);
    return { lines, stats };
  } finally {
    await handle.close();
  }
}

/** Deterministic pseudo-random content: short, empty, multi-byte and over-long lines, and an unterminated tail. */
function sample(seed: number): Buffer {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const parts: string[] = [];
  for (let index = 0; index < 300; index++) {
    const kind = random();
    if (kind < 0.1) parts.push('');
    else if (kind < 0.2) parts.push('é€😀'.repeat(1 + Math.floor(random() * 30)));
    else if (kind < 0.27) parts.push('x'.repeat(200 + Math.floor(random() * 400)));
    else parts.push(`{"seq":${index},"msg":"${'m'.repeat(Math.floor(random() * 90))}"}`);
  }
  return Buffer.from(`${parts.join('\n')}\n{"partial":`);
}

describe('ReverseLineReader', () => {
  it.each([
    [1, 7, 150],
    [2, 16, 300],
    [3, 64, 150],
    [4, 1000, 1000],
    [5, 4096, 256],
  ])(
    'returns every complete line newest first with offsets (seed %i, chunk %i, max line %i)',
    async (seed, chunkSize, maxLineLength) => {
      const content = sample(seed);
      const file = path.join(dir, `sample-${seed}.log`);
      await writeFile(file, content);
      const { lines, stats } = await readAll(file, content.length, chunkSize, maxLineLength);
      expect(lines).toEqual(expected(content, maxLineLength));
      expect(stats.bytesRead).toBe(content.length);
      for (const line of lines)
        expect(
          content.toString('utf8', line.start, line.start + Buffer.byteLength(line.text)),
        ).toBe(line.text);
    },
  );

  it('resumes from a line start (a cursor) without repeating or losing a line', async () => {
    const content = sample(9);
    const file = path.join(dir, 'resume.log');
    await writeFile(file, content);
    const all = expected(content, 1000);
    const middle = all[40];
    const { lines } = await readAll(file, middle.start, 33, 1000);
    expect(lines).toEqual(all.slice(41));
  });

  it('reads only the chunks it needs for the newest lines', async () => {
    const content = Buffer.from(
      Array.from({ length: 100_000 }, (_, index) => `{"seq":${index}}`).join('\n') + '\n',
    );
    const file = path.join(dir, 'big.log');
    await writeFile(file, content);
    const handle = await open(file, 'r');
    const stats = emptyReadStats();
    const reader = new ReverseLineReader(
      handle,
      content.length,
      { chunkSize: 4096, maxLineLength: 1024 },
      stats,
    );
    const first = await reader.next();
    await handle.close();
    expect(first?.text).toBe('{"seq":99999}');
    expect(stats.bytesRead).toBe(4096);
    expect(stats.reads).toBe(1);
  });

  it('counts and skips a line longer than the limit, even one spanning many chunks', async () => {
    const content = Buffer.from(`{"a":1}\n${'z'.repeat(10_000)}\n{"b":2}\n`);
    const file = path.join(dir, 'long.log');
    await writeFile(file, content);
    const { lines, stats } = await readAll(file, content.length, 512, 1024);
    expect(lines.map((line) => line.text)).toEqual(['{"b":2}', '{"a":1}']);
    expect(stats.oversizedLines).toBe(1);
  });
});
