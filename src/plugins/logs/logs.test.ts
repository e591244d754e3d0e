import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../index.js';
import { baseUrl, json } from '../../../test/support/http.js';
import { createLogsPlugin } from './index.js';
import { emit, startLoggingApp, stopLoggingApps, type LoggingApp } from './test-support/apps.js';

afterEach(stopLoggingApps);

interface Page {
  entries: Record<string, unknown>[];
  nextCursor?: string;
}

async function page(target: LoggingApp, query: string): Promise<Page> {
  const response = await fetch(`${target.url}/api/logs?${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Page;
}

/** Follows nextCursor to the end, collecting every entry. */
async function allPages(
  target: LoggingApp,
  query: string,
): Promise<{ entries: Record<string, unknown>[]; pages: number }> {
  const entries: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const result = await page(target, `${query}${cursor ? `&cursor=${cursor}` : ''}`);
    entries.push(...result.entries);
    cursor = result.nextCursor;
    pages++;
  } while (cursor && pages < 1_000);
  return { entries, pages };
}

const seqs = (entries: Record<string, unknown>[]) => entries.map((entry) => entry.seq);
const descending = (from: number, to: number) =>
  Array.from({ length: from - to + 1 }, (_, index) => from - index);

describe('GET /api/logs', () => {
  it('filters the app log by level, text and request id, newest first', async () => {
    const target = await startLoggingApp();
    await emit(
      target,
      [
        { level: 'debug', msg: 'cache warmed', seq: 1 },
        { level: 'info', msg: 'user signed in', seq: 2 },
        { level: 'warn', msg: 'Disk Almost Full', seq: 3 },
        { level: 'error', msg: 'payment failed', seq: 4 },
      ],
      'req-alpha',
    );
    await emit(target, [{ level: 'warn', msg: 'slow query', seq: 5 }], 'req-beta');

    const warnings = await page(target, 'level=warn');
    expect(seqs(warnings.entries.filter((entry) => entry.seq !== undefined))).toEqual([5, 4, 3]);
    expect(
      warnings.entries.every((entry) => ['warn', 'error', 'fatal'].includes(entry.level as string)),
    ).toBe(true);
    expect(seqs((await page(target, 'level=50')).entries)).toEqual([4]);

    const text = await page(target, 'q=disk%20almost');
    expect(seqs(text.entries)).toEqual([3]);

    const alpha = await page(target, 'requestId=req-alpha');
    // The four emitted lines and the request-completed line, newest first.
    expect(alpha.entries.map((entry) => entry.msg)).toEqual([
      'request completed',
      'payment failed',
      'Disk Almost Full',
      'user signed in',
      'cache warmed',
    ]);
    expect(alpha.entries.every((entry) => entry.requestId === 'req-alpha')).toBe(true);

    const all = (await page(target, 'limit=1000')).entries;
    const times = all.map((entry) => Date.parse(entry.time as string));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(all.some((entry) => entry.msg === 'app listening')).toBe(true);
  });

  it('filters by time range, reads numeric levels and epoch times, and skips malformed lines', async () => {
    const target = await startLoggingApp((dir) => ({ file: path.join(dir, 'hand.log') }));
    await writeFile(
      path.join(target.dir, 'hand.log'),
      [
        '{"level":30,"time":1700000000000,"msg":"first","seq":1}',
        'not json at all',
        '{"level":"debug","time":"2023-11-14T22:13:21.000Z","msg":"second","seq":2}',
        '[1,2,3]',
        '{"level":50,"time":1700000002000,"msg":"third","seq":3}',
        '',
        '{"level":"warn","time":"2023-11-14T22:13:23.000Z","msg":"fourth","seq":4,"requestId":"r-4"}',
        '{"truncated": ',
        '{"level":"info","time":1700000004000,"msg":"fifth","seq":5}',
        '{"level":"info","time":1700000005000,"msg":"still being written"',
      ].join('\n'),
    );
    expect(seqs((await page(target, '')).entries)).toEqual([5, 4, 3, 2, 1]);
    expect(
      seqs((await page(target, 'since=2023-11-14T22:13:21Z&until=2023-11-14T22:13:23Z')).entries),
    ).toEqual([4, 3, 2]);
    expect(seqs((await page(target, 'since=2023-11-14T22:13:22.000Z')).entries)).toEqual([5, 4, 3]);
    expect(seqs((await page(target, 'until=2023-11-14T22:13:20Z')).entries)).toEqual([1]);
    expect(seqs((await page(target, 'level=warn')).entries)).toEqual([4, 3]);
    expect(seqs((await page(target, 'level=40')).entries)).toEqual([4, 3]);
    expect(seqs((await page(target, 'level=trace')).entries)).toEqual([5, 4, 3, 2, 1]);
    expect(seqs((await page(target, 'requestId=r-4')).entries)).toEqual([4]);
    expect(seqs((await page(target, 'q=FIFTH')).entries)).toEqual([5]);

    const first = await page(target, 'limit=2');
    expect(seqs(first.entries)).toEqual([5, 4]);
    const second = await page(target, `limit=2&cursor=${first.nextCursor}`);
    expect(seqs(second.entries)).toEqual([3, 2]);
    const third = await page(target, `limit=2&cursor=${second.nextCursor}`);
    expect(seqs(third.entries)).toEqual([1]);
    expect(third.nextCursor).toBeUndefined();
  });

  it('pages through rotated files in order, without duplicates or gaps, even when files rotate between pages', async () => {
    const target = await startLoggingApp({}, { maxBytes: 2048, maxFiles: 200 });
    const emitRange = async (from: number, to: number) => {
      for (let start = from; start < to; start += 5) {
        const lines = [];
        for (let seq = start; seq < Math.min(start + 5, to); seq++)
          lines.push({ level: 'info' as const, msg: 'rot-line', seq });
        await emit(target, lines);
      }
    };
    // Matches the msg field only: the request lines of these very queries carry `q=...` in their URL.
    const onlyRot = `q=${encodeURIComponent('"msg":"rot-line"')}`;
    await emitRange(0, 300);
    const rotated = (await readdir(target.dir)).filter((name) => name.startsWith('app.log.'));
    expect(rotated.length).toBeGreaterThan(5);

    const walk = await allPages(target, `${onlyRot}&limit=7`);
    expect(seqs(walk.entries)).toEqual(descending(299, 0));
    expect(walk.pages).toBeGreaterThanOrEqual(43);

    const first = await page(target, `${onlyRot}&limit=10`);
    expect(seqs(first.entries)).toEqual(descending(299, 290));
    await emitRange(300, 500); // several rotations: the file the cursor points into moves to another name
    const rest: Record<string, unknown>[] = [];
    let cursor = first.nextCursor;
    while (cursor) {
      const next = await page(target, `${onlyRot}&limit=50&cursor=${cursor}`);
      rest.push(...next.entries);
      cursor = next.nextCursor;
    }
    expect(seqs(rest)).toEqual(descending(289, 0));
  });

  it('answers 410 when the file a cursor points into has been rotated away', async () => {
    const target = await startLoggingApp({}, { maxBytes: 1024, maxFiles: 2 });
    await emit(
      target,
      Array.from({ length: 20 }, (_, seq) => ({ level: 'info' as const, msg: 'old-line', seq })),
    );
    const first = await page(target, `q=${encodeURIComponent('"old-line"')}&limit=3`);
    expect(first.nextCursor).toBeDefined();
    for (let round = 0; round < 10; round++)
      await emit(
        target,
        Array.from({ length: 20 }, (_, seq) => ({ level: 'info' as const, msg: 'filler', seq })),
      );
    const response = await fetch(`${target.url}/api/logs?q=old-line&cursor=${first.nextCursor}`);
    expect(response.status).toBe(410);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await json(response)).code).toBe('LOGS_CURSOR_EXPIRED');
  });

  const badQueries: { label: string; query: string; names: string[] }[] = [
    { label: 'an unknown level', query: 'level=loud', names: ['level'] },
    { label: 'a repeated level', query: 'level=info&level=warn', names: ['level'] },
    { label: 'a since that is not ISO', query: 'since=yesterday', names: ['since'] },
    { label: 'an impossible until', query: 'until=2024-13-45T00:00:00Z', names: ['until'] },
    {
      label: 'since after until',
      query: 'since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z',
      names: ['since'],
    },
    { label: 'limit 0', query: 'limit=0', names: ['limit'] },
    { label: 'limit over the maximum', query: 'limit=1001', names: ['limit'] },
    { label: 'a limit in words', query: 'limit=ten', names: ['limit'] },
    { label: 'a cursor of stray characters', query: 'cursor=not*a*cursor', names: ['cursor'] },
    {
      label: 'a forged cursor',
      query: `cursor=${Buffer.from('[1,"1","2",-5,"x"]').toString('base64url')}`,
      names: ['cursor'],
    },
    { label: 'a request id with a space', query: 'requestId=a%20b', names: ['requestId'] },
    { label: 'a text over 1000 characters', query: `q=${'x'.repeat(1001)}`, names: ['q'] },
    {
      label: 'three bad parameters at once',
      query: 'level=loud&limit=0&since=soon',
      names: ['level', 'since', 'limit'],
    },
  ];
  it.each(badQueries)(
    'answers 400 problem+json naming the parameter for $label',
    async ({ query, names }) => {
      const target = await startLoggingApp();
      const response = await fetch(`${target.url}/api/logs?${query}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = await json(response);
      expect(problem.code).toBe('LOGS_INVALID_QUERY');
      expect(problem.invalidParams.map((param: { name: string }) => param.name)).toEqual(names);
      for (const name of names) expect(problem.detail).toContain(name);
    },
  );

  it('answers an empty page before anything is written, and 404 when the app writes no file', async () => {
    const target = await startLoggingApp((dir) => ({ file: path.join(dir, 'not-yet.log') }));
    expect(await page(target, '')).toEqual({ entries: [] });

    const bare = createApp({
      name: 'bare',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [createLogsPlugin()],
    });
    await bare.start();
    try {
      for (const route of ['/api/logs', '/api/logs/stream']) {
        const response = await fetch(`${baseUrl(bare)}${route}`);
        expect(response.status).toBe(404);
        expect((await json(response)).code).toBe('LOGS_FILE_NOT_CONFIGURED');
      }
    } finally {
      await bare.stop();
    }
  });

  it('declares both routes admin, so the admin guard runs before them', async () => {
    const target = await startLoggingApp();
    const routes = target.app.context.routes().filter((route) => route.plugin === 'logs');
    expect(routes.map((route) => [route.path, route.access])).toEqual([
      ['/api/logs', 'admin'],
      ['/api/logs/stream', 'admin'],
    ]);
    target.app.context.setAdminGuard({
      name: 'test',
      middleware: (_req, res) => void res.status(401).json({ denied: true }),
    });
    expect((await fetch(`${target.url}/api/logs`)).status).toBe(401);
    expect((await fetch(`${target.url}/api/logs/stream`)).status).toBe(401);
  });
});
