import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { baseUrl } from '../../../test/support/http.js';
import { createLogsPlugin, type LogsService } from './index.js';

const TARGET_BYTES = 200 * 1024 * 1024;
const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;
const MAX_SCAN = 4 * MIB;
const BASE_TIME = Date.parse('2025-01-01T00:00:00.000Z');

let dir: string;
let file: string;
let lastSeq = 0;
let fileSize = 0;
let app: App;
let logs: LogsService;

/** Writes time-ordered NDJSON lines of about 250 bytes in 4 MiB blocks until the file reaches `bytes`. */
async function generate(target: string, bytes: number): Promise<{ lastSeq: number; size: number }> {
  const handle = await open(target, 'w');
  const padding = 'p'.repeat(150);
  let seq = 0;
  let size = 0;
  try {
    while (size < bytes) {
      const parts: string[] = [];
      for (let index = 0; index < 16_384; index++, seq++) {
        parts.push(
          `{"level":"info","time":"${new Date(BASE_TIME + seq).toISOString()}","pid":1,"seq":${seq},"msg":"generated line ${padding}"}\n`,
        );
      }
      const block = Buffer.from(parts.join(''));
      await handle.write(block);
      size += block.length;
    }
  } finally {
    await handle.close();
  }
  return { lastSeq: seq - 1, size };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'qwick-logs-large-'));
  file = path.join(dir, 'big.log');
  ({ lastSeq, size: fileSize } = await generate(file, TARGET_BYTES));
  app = createApp({
    name: 'logs-large',
    port: 0,
    host: '127.0.0.1',
    logger: { file: { path: path.join(dir, 'app.log') }, stdout: false, level: 'debug' },
    shutdown: { signals: false },
    plugins: [createLogsPlugin({ file, chunkSize: CHUNK, maxScanBytes: MAX_SCAN })],
  });
  await app.start();
  logs = app.context.services.get('logs');
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** One page, and the bytes the plugin read from disk to answer it. */
async function measuredPage(
  query: string,
): Promise<{ entries: { seq: number }[]; nextCursor?: string; bytesRead: number }> {
  const before = logs.stats().bytesRead;
  const response = await fetch(`${baseUrl(app)}/api/logs?${query}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { entries: { seq: number }[]; nextCursor?: string };
  return { ...body, bytesRead: logs.stats().bytesRead - before };
}

const descending = (from: number, count: number) =>
  Array.from({ length: count }, (_, index) => from - index);

describe('a 200 MB log file', () => {
  it('answers the newest page reading one chunk from the end, far under 1 MiB', async () => {
    expect(fileSize).toBeGreaterThanOrEqual(TARGET_BYTES);
    const page = await measuredPage('limit=100');
    expect(page.entries.map((entry) => entry.seq)).toEqual(descending(lastSeq, 100));
    // Stated bound: one chunk (64 KiB) + the carried partial line + a 256-byte fingerprint for the cursor.
    expect(page.bytesRead).toBeLessThan(1 * MIB);
    expect(page.bytesRead).toBeLessThanOrEqual(CHUNK + 256);

    const next = await measuredPage(`limit=100&cursor=${page.nextCursor}`);
    expect(next.entries.map((entry) => entry.seq)).toEqual(descending(lastSeq - 100, 100));
    expect(next.bytesRead).toBeLessThan(1 * MIB);
  });

  it('stops scanning as soon as lines are older than since', async () => {
    const since = new Date(BASE_TIME + lastSeq - 499).toISOString();
    const page = await measuredPage(`since=${since}&limit=1000`);
    expect(page.entries.map((entry) => entry.seq)).toEqual(descending(lastSeq, 500));
    expect(page.nextCursor).toBeUndefined();
    expect(page.bytesRead).toBeLessThan(1 * MIB);
  });

  it('bounds a page that matches nothing by maxScanBytes, and hands back a cursor to go on', async () => {
    const page = await measuredPage('q=no-such-text&limit=10');
    expect(page.entries).toEqual([]);
    expect(page.nextCursor).toBeDefined();
    expect(page.bytesRead).toBeGreaterThanOrEqual(MAX_SCAN);
    expect(page.bytesRead).toBeLessThanOrEqual(MAX_SCAN + CHUNK + 512);

    const next = await measuredPage(`q=no-such-text&limit=10&cursor=${page.nextCursor}`);
    expect(next.bytesRead).toBeLessThanOrEqual(MAX_SCAN + CHUNK + 512);
    // The second page resumes where the first stopped: together they cover twice the budget.
    const older = await measuredPage(`limit=1&cursor=${next.nextCursor}`);
    expect(older.entries[0].seq).toBeLessThan(lastSeq - Math.floor((2 * MAX_SCAN) / 300));
  });
});
