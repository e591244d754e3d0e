import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedLineStream, RotatingFileStream } from './log-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'log-file-'));
  dirs.push(dir);
  return dir;
}
const flushed = (stream: RotatingFileStream) =>
  new Promise<void>((resolve) => stream.flush(() => resolve()));

describe('RotatingFileStream', () => {
  it('rotates by size while lines keep coming, losing none and keeping their order', async () => {
    const dir = tempDir();
    const stream = new RotatingFileStream({
      path: path.join(dir, 'app.log'),
      maxBytes: 64 * 1024,
      maxFiles: 50,
    });
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
    const indexes = files.flatMap((file) =>
      readFileSync(path.join(dir, file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).index as number),
    );
    // Oldest rotated file first, the active file last: every line once, in order.
    expect(indexes).toEqual(Array.from({ length: total }, (_, index) => index));
  });

  it("writes a quiet logger's lines within the flush interval, without being asked", async () => {
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

  it('writes a line logged while a batch is being written, with nothing logged after it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    const stream = new RotatingFileStream({ path: file, flushInterval: 20 });
    // A full batch starts a write at once; the last line arrives while it is in flight.
    const big = `{"msg":"${'x'.repeat(20 * 1024)}"}\n`;
    stream.write(big);
    stream.write('{"msg":"last"}\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(readFileSync(file, 'utf8')).toBe(`${big}{"msg":"last"}\n`);
    await stream.close();
  });

  it('holds its exit listener only while open, with no module-wide registry', async () => {
    const dir = tempDir();
    const listeners = process.listenerCount('exit');
    const streams = Array.from(
      { length: 12 },
      (_, index) => new RotatingFileStream({ path: path.join(dir, `app-${index}.log`) }),
    );
    expect(process.listenerCount('exit')).toBe(listeners + 12);
    // Twelve open streams raised the warning threshold with them: no MaxListenersExceededWarning.
    expect(process.getMaxListeners()).toBeGreaterThanOrEqual(process.listenerCount('exit'));
    await Promise.all(streams.map((stream) => stream.close()));
    expect(process.listenerCount('exit')).toBe(listeners);
  });
});

describe('BatchedLineStream', () => {
  it('keeps multi-byte characters and lines longer than a buffer whole', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    const stream = new RotatingFileStream({ path: file });
    const lines = [
      '{"msg":"café ☕ 𝄞"}\n',
      `{"msg":"${'ü'.repeat(70_000)}"}\n`,
      '{"msg":"after"}\n',
    ];
    for (const line of lines) stream.write(line);
    await stream.close();
    expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
  });

  it('writes everything to a pipe whose reader is slow: partial writes and EAGAIN lose nothing', async () => {
    // The child reads nothing for 300 ms, so the pipe fills (64 KiB) and writes to it, which is
    // non-blocking, come back short or with EAGAIN until the reader catches up.
    const child = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => process.stdin.pipe(process.stdout), 300)'],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const received: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => received.push(chunk));
    const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const stream = new BatchedLineStream(fd, 'pipe', { flushInterval: 5 });
    const total = 20_000;
    for (let index = 0; index < total; index++) {
      stream.write(`${JSON.stringify({ index, pad: 'x'.repeat(40) })}\n`);
      if (index % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise<void>((resolve) => stream.flush(() => resolve()));
    await stream.close();
    child.stdin.end();
    await once(child, 'exit');
    const indexes = Buffer.concat(received)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).index as number);
    expect(indexes).toEqual(Array.from({ length: total }, (_, index) => index));
  });

  it('writes the lines still in memory when the process exits', async () => {
    const logger = new URL('./logger.ts', import.meta.url).href;
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger({ level: 'info' });
      for (let index = 0; index < 1000; index++) log.info({ index }, 'line');
      process.exit(0);
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const received: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => received.push(chunk));
    await once(child, 'exit');
    const indexes = Buffer.concat(received)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).index as number);
    expect(indexes).toEqual(Array.from({ length: 1000 }, (_, index) => index));
  });
});
