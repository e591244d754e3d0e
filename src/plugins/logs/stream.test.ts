import { readdirSync, readlinkSync } from 'node:fs';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { json, waitFor } from '../../../test/support/http.js';
import { emit, startLoggingApp, stopLoggingApps, type LoggingApp } from './test-support/apps.js';
import { openStream as openOn } from './test-support/stream-client.js';

// Streams use their own connection pool, destroyed after each test (see openStream).
let agent: Agent;
beforeEach(() => {
  agent = new Agent();
});
afterEach(async () => {
  await agent.destroy();
  await stopLoggingApps();
});

const openStream = (target: LoggingApp, query = '') => openOn(target, agent, query);

/** Descriptors this process holds on `file` for reading (the logger's own writer excluded), or 0 without /proc. */
function openDescriptorsOf(file: string): number {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return 0;
  }
  const targets = names.map((name) => {
    try {
      return readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      return '';
    }
  });
  // The logger keeps one descriptor open for writing.
  return Math.max(0, targets.filter((target) => target === file).length - 1);
}

describe('GET /api/logs/stream', () => {
  it('is an event stream that delivers a newly logged request line within 1 s', async () => {
    const target = await startLoggingApp();
    const stream = await openStream(target);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.response.headers.get('cache-control')).toMatch(/^no-store\b/);
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');

    const hello = await fetch(`${target.url}/api/v1/hello`, {
      headers: { 'x-request-id': 'stream-check-1' },
    });
    expect(hello.status).toBe(200);
    await waitFor(
      () =>
        stream.events.some(
          (event) => event.requestId === 'stream-check-1' && event.msg === 'request completed',
        ),
      'the request-completed line on the stream',
      1_000,
    );
    stream.close();
  });

  it('applies level, q and requestId filters to each stream', async () => {
    const target = await startLoggingApp();
    const byRequest = await openStream(target, '?requestId=only-this');
    const errors = await openStream(target, '?level=error');
    const byText = await openStream(target, '?q=NEEDLE');
    await emit(
      target,
      [
        { level: 'info', msg: 'plain' },
        { level: 'error', msg: 'broken' },
      ],
      'other-request',
    );
    await emit(target, [{ level: 'warn', msg: 'has a needle in it' }], 'only-this');

    await waitFor(() => byRequest.events.length >= 2, 'the two lines of only-this', 1_000);
    await waitFor(
      () => errors.events.length >= 1 && byText.events.length >= 1,
      'error and text matches',
      1_000,
    );
    // One more line through the whole pipeline, so anything wrongly let through has had time to arrive.
    await emit(target, [{ level: 'error', msg: 'needle end marker' }], 'only-this');
    await waitFor(
      () => errors.events.some((event) => event.msg === 'needle end marker'),
      'end marker',
      1_000,
    );

    expect(byRequest.events.every((event) => event.requestId === 'only-this')).toBe(true);
    expect(byRequest.events.map((event) => event.msg).slice(0, 2)).toEqual([
      'has a needle in it',
      'request completed',
    ]);
    expect(errors.events.map((event) => event.msg)).toEqual(['broken', 'needle end marker']);
    expect(
      byText.events.map((event) => event.msg).filter((msg) => msg !== 'request completed'),
    ).toEqual(['has a needle in it', 'needle end marker']);
    for (const stream of [byRequest, errors, byText]) stream.close();
  });

  it('keeps delivering every line in order across rotations', async () => {
    const target = await startLoggingApp({}, { maxBytes: 2048, maxFiles: 100 });
    const stream = await openStream(target, `?q=${encodeURIComponent('"msg":"tail-line"')}`);
    for (let start = 0; start < 200; start += 10) {
      await emit(
        target,
        Array.from({ length: 10 }, (_, index) => ({
          level: 'info' as const,
          msg: 'tail-line',
          seq: start + index,
        })),
      );
    }
    await waitFor(() => stream.events.length >= 200, 'all 200 lines', 3_000);
    expect(stream.events.map((event) => event.seq)).toEqual(
      Array.from({ length: 200 }, (_, index) => index),
    );
    stream.close();
  });

  it('sends ping comments', async () => {
    const target = await startLoggingApp({ pingInterval: 100 });
    const stream = await openStream(target);
    await waitFor(() => stream.text().includes(': ping\n\n'), 'a ping comment', 2_000);
    stream.close();
  });

  it('releases the watcher, timer and file handle after many connects and disconnects', async () => {
    const target = await startLoggingApp();
    const watchers = () =>
      process.getActiveResourcesInfo().filter((name) => name === 'FSEventWrap').length;
    const baseline = watchers();
    expect(openDescriptorsOf(target.logFile)).toBe(0);
    for (let round = 0; round < 40; round++) {
      const stream = await openStream(target, round % 2 ? '?level=warn' : '');
      expect(stream.response.status).toBe(200);
      stream.close();
    }
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => openStream(target)));
    expect(target.logs.stats().tailSessions).toBe(1);
    expect(watchers()).toBe(baseline + 1);
    expect(openDescriptorsOf(target.logFile)).toBe(1);
    for (const stream of concurrent) stream.close();
    await waitFor(
      () => target.logs.stats().streams === 0 && target.logs.stats().tailSessions === 0,
      'every stream released',
      2_000,
    );
    expect(watchers()).toBe(baseline);
    expect(openDescriptorsOf(target.logFile)).toBe(0);
  });

  it('ends open streams when the app stops', async () => {
    const target = await startLoggingApp();
    const stream = await openStream(target);
    await target.app.stop();
    await waitFor(() => stream.ended(), 'the stream to end', 2_000);
    expect(target.logs.stats().tailSessions).toBe(0);
  });

  it('answers a problem, not an empty 200, when the file cannot be followed', async () => {
    // A folder opens for reading but cannot be read: the follower fails while positioning.
    const target = await startLoggingApp((dir) => ({ file: dir }));
    const response = await fetch(`${target.url}/api/logs/stream`);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(target.logs.stats().tailSessions).toBe(0);
  });

  it('answers 400 for bad filters before opening a stream', async () => {
    const target = await startLoggingApp();
    const response = await fetch(`${target.url}/api/logs/stream?level=loud&requestId=a%20b`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = await json(response);
    expect(problem.invalidParams.map((param: { name: string }) => param.name)).toEqual([
      'level',
      'requestId',
    ]);
  });
});
