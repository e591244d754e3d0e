import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qwick-logger-'));
  dirs.push(dir);
  return path.join(dir, 'app.log');
}

/** Descriptors of this process open on `file` (Linux lists them under /proc/self/fd). */
function descriptorsOn(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

describe.skipIf(!existsSync('/proc/self/fd'))('the app log file', () => {
  it('is closed when the app stops, after every line reached it; a line logged later is dropped without throwing', async () => {
    const file = logFile();
    for (let round = 0; round < 2; round++) {
      const app = createApp({
        name: `round-${round}`,
        port: 0,
        host: '127.0.0.1',
        logger: { level: 'info', stdout: false, file: { path: file } },
        shutdown: { signals: false },
      });
      await app.start();
      // The file opens asynchronously; this proves the count sees it.
      await vi.waitFor(() => expect(descriptorsOn(file)).toBe(1));
      await app.stop();
      expect(descriptorsOn(file)).toBe(0);
      expect(() => app.context.logger.info('after stop')).not.toThrow();
    }
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { app: string; msg: string });
    expect(lines.filter((line) => line.msg === 'stopped').map((line) => line.app)).toEqual([
      'round-0',
      'round-1',
    ]);
    expect(lines.some((line) => line.msg === 'after stop')).toBe(false);
  });

  it('is closed when start-up fails', async () => {
    const file = logFile();
    const app = createApp({
      name: 'broken',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'info', stdout: false, file: { path: file } },
      shutdown: { signals: false },
      plugins: [{ name: 'broken', onInit: () => Promise.reject(new Error('no disk')) }],
    });
    await expect(app.start()).rejects.toThrow('no disk');
    expect(descriptorsOn(file)).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('start-up failed');
  });
});
