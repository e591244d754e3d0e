import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  hashPassword,
  isWeakerThanDefault,
  passwordHashProblem,
  verifyPasswordHash,
} from './password.js';
import { SessionStore } from './sessions.js';

describe('SessionStore', () => {
  it('expires sessions after their ttl and keeps at most maxSessions, oldest out first', () => {
    let now = 1_000_000;
    const store = new SessionStore({ ttl: 60_000, maxSessions: 2, now: () => now });
    const first = store.create('a');
    const cookie = store.cookieValue(first);
    expect(store.fromCookie(cookie)?.user).toBe('a');
    now += 59_999;
    expect(store.fromCookie(cookie)?.user).toBe('a');
    now += 1;
    expect(store.fromCookie(cookie)).toBeUndefined();

    const second = store.create('b');
    const third = store.create('c');
    const fourth = store.create('d');
    expect(store.size).toBe(2);
    expect(store.fromCookie(store.cookieValue(second))).toBeUndefined();
    expect(store.fromCookie(store.cookieValue(third))?.user).toBe('c');
    expect(store.fromCookie(store.cookieValue(fourth))?.user).toBe('d');
  });

  it('refuses cookies signed with another secret', () => {
    const one = new SessionStore({ secret: 'a'.repeat(32), ttl: 60_000, maxSessions: 10 });
    const other = new SessionStore({ secret: 'b'.repeat(32), ttl: 60_000, maxSessions: 10 });
    const session = one.create('a');
    const [id] = one.cookieValue(session).split('.');
    const foreignSignature = other.cookieValue(other.create('x')).split('.')[1];
    expect(one.fromCookie(`${id}.${foreignSignature}`)).toBeUndefined();
    expect(one.fromCookie(id)).toBeUndefined();
    expect(one.fromCookie(one.cookieValue(session))?.user).toBe('a');
  });
});

describe('SessionStore end listeners', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('arms one expiry timer per watched session, only while someone listens', () => {
    vi.useFakeTimers();
    const store = new SessionStore({ ttl: 60_000, maxSessions: 10 });
    const session = store.create('a');
    expect(vi.getTimerCount()).toBe(0);
    const reasons: string[] = [];
    const stopFirst = store.onEnd(session.id, (reason) => reasons.push(`first ${reason}`));
    const stopSecond = store.onEnd(session.id, (reason) => reasons.push(`second ${reason}`));
    expect(vi.getTimerCount()).toBe(1);
    stopFirst();
    expect(vi.getTimerCount()).toBe(1);
    stopSecond();
    expect(vi.getTimerCount()).toBe(0);

    store.onEnd(session.id, (reason) => reasons.push(`third ${reason}`));
    vi.advanceTimersByTime(59_999);
    expect(reasons).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reasons).toEqual(['third expired']);
    expect(vi.getTimerCount()).toBe(0);
    expect(store.fromCookie(store.cookieValue(session))).toBeUndefined();
  });

  it('does not fire early for a lifetime beyond what one setTimeout can wait (about 24.8 days)', () => {
    vi.useFakeTimers();
    const day = 86_400_000;
    const store = new SessionStore({ ttl: 30 * day, maxSessions: 10 });
    const session = store.create('a');
    const reasons: string[] = [];
    store.onEnd(session.id, (reason) => reasons.push(reason));
    vi.advanceTimersByTime(29 * day);
    expect(reasons).toEqual([]);
    vi.advanceTimersByTime(day);
    expect(reasons).toEqual(['expired']);
  });

  it('tells listeners why: logout, eviction by newer sessions; a listener that throws does not stop the others', async () => {
    const errors: unknown[] = [];
    const store = new SessionStore({
      ttl: 60_000,
      maxSessions: 2,
      onListenerError: (error) => errors.push(error),
    });
    const [first, second] = [store.create('a'), store.create('a')];
    const reasons: string[] = [];
    store.onEnd(first.id, () => {
      throw new Error('listener failed');
    });
    store.onEnd(first.id, (reason) => reasons.push(`first ${reason}`));
    store.onEnd(second.id, (reason) => reasons.push(`second ${reason}`));
    store.create('a');
    expect(reasons).toEqual(['first evicted']);
    expect(errors).toHaveLength(1);
    store.end(second.id, 'logout');
    expect(reasons).toEqual(['first evicted', 'second logout']);
    // Already ended: told at once (on a microtask), so a late registration cannot wait forever.
    const late = await new Promise((resolve) => store.onEnd(second.id, resolve));
    expect(late).toBe('expired');
  });
});

describe('password hashes', () => {
  it('verifies the password it was made from and nothing else; a malformed hash never matches', async () => {
    const hash = await hashPassword('s3cret value', { N: 1024 });
    const again = await hashPassword('s3cret value', { N: 1024 });
    expect(again).not.toBe(hash);
    expect(await verifyPasswordHash('s3cret value', hash)).toBe(true);
    expect(await verifyPasswordHash('s3cret valuf', hash)).toBe(false);
    expect(await verifyPasswordHash('s3cret value', 'bcrypt:1:2:3:abc:def')).toBe(false);
  });

  it('never matches a truncated hash whose key decodes to no bytes (any password would equal it)', async () => {
    const [scheme, n, r, p, salt] = (await hashPassword('s3cret value', { N: 1024 })).split(':');
    for (const key of ['A', 'AA'])
      expect(
        await verifyPasswordHash('anything at all', [scheme, n, r, p, salt, key].join(':')),
      ).toBe(false);
  });

  it('hashes with the ASVS 5.0 scrypt cost by default and still verifies hashes made with an older, lower cost', async () => {
    const hash = await hashPassword('s3cret value');
    expect(hash).toMatch(/^scrypt:131072:8:1:[\w-]{22}:[\w-]{43}$/);
    expect(await verifyPasswordHash('s3cret value', hash)).toBe(true);
    expect(isWeakerThanDefault(hash)).toBe(false);
    const older = await hashPassword('s3cret value', { N: 16_384 });
    expect(await verifyPasswordHash('s3cret value', older)).toBe(true);
    expect(await verifyPasswordHash('s3cret valuf', older)).toBe(false);
    expect(isWeakerThanDefault(older)).toBe(true);
  });

  it('refuses hash parameters that would make one login allocate or compute without bound', async () => {
    const [salt, key] = (await hashPassword('s3cret value', { N: 1024 })).split(':').slice(4);
    const withCost = (cost: string) => `scrypt:${cost}:${salt}:${key}`;
    // 128 * r * N: 2 GiB, and 16 MiB blocks times a billion lanes.
    expect(passwordHashProblem(withCost('16:1048576:1'))).toMatch(/r of at most 32/);
    expect(passwordHashProblem(withCost('1024:8:1000000000'))).toMatch(/p of at most 16/);
    expect(passwordHashProblem(withCost('262144:16:1'))).toMatch(/MiB of memory/);
    expect(passwordHashProblem(withCost('131072:8:16'))).toMatch(/N \* r \* p of at most/);
    expect(passwordHashProblem(`scrypt:1024:8:1:${salt}:${'A'.repeat(200)}`)).toMatch(
      /key of at most 64 bytes/,
    );
    expect(passwordHashProblem(`scrypt:1024:8:1:${'A'.repeat(200)}:${key}`)).toMatch(
      /salt of 8 to 64 bytes/,
    );
    expect(await verifyPasswordHash('s3cret value', withCost('1024:8:1000000000'))).toBe(false);
    // The bounds leave room for OWASP's equivalent settings and one step up.
    for (const cost of ['262144:8:1', '65536:8:2', '8192:8:10'])
      expect(passwordHashProblem(withCost(cost))).toBeUndefined();
    await expect(hashPassword('s3cret value', { p: 1_000 })).rejects.toThrow(/p of at most 16/);
  });

  it('explains what is wrong with a hash that was not made by hashPassword()', async () => {
    expect(passwordHashProblem(await hashPassword('s3cret value', { N: 1024 }))).toBeUndefined();
    expect(passwordHashProblem('scrypt:16384:8:1:c2FsdHNhbHRzYWx0:A')).toMatch(/key/);
    expect(
      passwordHashProblem(
        'scrypt:1000:8:1:c2FsdHNhbHRzYWx0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ),
    ).toMatch(/power of two/);
    expect(
      passwordHashProblem(
        'scrypt:1048576:8:1:c2FsdHNhbHRzYWx0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ),
    ).toMatch(/memory/);
  });
});
