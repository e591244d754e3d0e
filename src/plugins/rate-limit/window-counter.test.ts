import * as library from 'express-rate-limit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WindowCounter, partitionKey } from './window-counter.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('WindowCounter', () => {
  it('counts a fixed window per client from its first request, as the library store does', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const ours = new WindowCounter(60_000);
    const theirs = new library.MemoryStore();
    theirs.init({ windowMs: 60_000 } as library.Options);
    const sequence: [number, string][] = [
      [0, 'a'],
      [10_000, 'a'],
      [20_000, 'b'],
      [59_999, 'a'],
      [60_000, 'a'],
      [75_000, 'b'],
      [90_000, 'b'],
    ];
    for (const [at, key] of sequence) {
      vi.setSystemTime(1_000_000 + at);
      const mine = ours.hit(key);
      const library_ = await theirs.increment(key);
      expect({ at, key, hits: mine.hits, resetAt: mine.resetAt }).toEqual({
        at,
        key,
        hits: library_.totalHits,
        resetAt: library_.resetTime!.getTime(),
      });
    }
    ours.shutdown();
    theirs.shutdown();
  });

  it('forgets clients idle for a whole window and keeps those still counting', async () => {
    vi.useFakeTimers({ now: 0 });
    const counter = new WindowCounter(1_000);
    counter.hit('idle');
    counter.hit('busy');
    vi.advanceTimersByTime(1_000);
    expect(counter.size).toBe(2);
    vi.advanceTimersByTime(500);
    counter.hit('busy');
    vi.advanceTimersByTime(500);
    // The idle client went with the old map; the busy one is counting in its new window.
    expect(counter.size).toBe(1);
    expect(await counter.get('idle')).toBeUndefined();
    expect((await counter.get('busy'))?.totalHits).toBe(1);
    counter.shutdown();
  });

  it('writes the draft-8 partition key exactly as express-rate-limit does', () => {
    // express-rate-limit: base64 of the first 12 hex digits of the key's SHA-256.
    expect(partitionKey('127.0.0.1')).toBe(Buffer.from('12ca17b49af2').toString('base64'));
  });
});
