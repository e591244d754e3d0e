import { describe, expect, it } from 'vitest';
import { TrustedDevices } from './devices.js';
import { AccountDelay, LoginLimiter } from './login-limit.js';

describe('LoginLimiter', () => {
  it('blocks a client after max failures until its window ends, other clients unaffected; success resets', () => {
    let now = 0;
    const limiter = new LoginLimiter({ max: 3, windowMs: 60_000, now: () => now });
    for (let index = 0; index < 3; index++) limiter.fail('10.0.0.1');
    expect(limiter.retryAfter('10.0.0.1')).toBe(60);
    expect(limiter.retryAfter('10.0.0.2')).toBe(0);
    now = 30_500;
    expect(limiter.retryAfter('10.0.0.1')).toBe(30);
    now = 60_000;
    expect(limiter.retryAfter('10.0.0.1')).toBe(0);
    limiter.fail('10.0.0.3');
    limiter.fail('10.0.0.3');
    limiter.succeed('10.0.0.3');
    limiter.fail('10.0.0.3');
    expect(limiter.retryAfter('10.0.0.3')).toBe(0);
  });

  it('stays bounded when many addresses fail', () => {
    const limiter = new LoginLimiter({ max: 1, windowMs: 60_000, maxClients: 100 });
    for (let index = 0; index < 1_000; index++) limiter.fail(`10.0.${index >> 8}.${index & 255}`);
    expect(limiter.retryAfter('10.0.3.231')).toBeGreaterThan(0);
    expect(limiter.retryAfter('10.0.0.0')).toBe(0);
  });
});

describe('AccountDelay', () => {
  const settings = { freeFailures: 3, baseDelay: 1_000, maxDelay: 8_000, forgetAfter: 600_000 };

  it('lets freeFailures go by, then makes each attempt wait longer (doubling, capped) after the last failure', () => {
    let now = 0;
    const delay = new AccountDelay({ ...settings, now: () => now });
    expect([delay.fail('admin'), delay.fail('admin')]).toEqual([0, 0]);
    expect(delay.wait('admin')).toBe(0);
    expect(delay.fail('admin')).toBe(1_000);
    expect(delay.wait('admin')).toBe(1_000);
    now = 400;
    expect(delay.wait('admin')).toBe(600);
    now = 1_000;
    expect(delay.wait('admin')).toBe(0);
    expect([
      delay.fail('admin'),
      delay.fail('admin'),
      delay.fail('admin'),
      delay.fail('admin'),
    ]).toEqual([2_000, 4_000, 8_000, 8_000]);
    expect(delay.wait('admin')).toBe(8_000);
    expect(delay.wait('other')).toBe(0);
    delay.succeed('admin');
    expect(delay.wait('admin')).toBe(0);
    expect(delay.fail('admin')).toBe(0);
  });

  it('forgets the failures after forgetAfter without one', () => {
    let now = 0;
    const delay = new AccountDelay({ ...settings, now: () => now });
    for (let index = 0; index < 6; index++) delay.fail('admin');
    now = 599_999;
    expect(delay.wait('admin')).toBe(0);
    now = 600_000;
    expect(delay.fail('admin')).toBe(0);
  });
});

describe('TrustedDevices', () => {
  it('trusts only an unexpired cookie it signed for that account, until it fails maxFailures times', () => {
    let now = 1_000;
    const devices = new TrustedDevices({ ttl: 60_000, maxFailures: 2, now: () => now });
    const cookie = devices.issue('admin');
    const nonce = devices.trusted([cookie], 'admin');
    expect(nonce).toBeDefined();
    expect(devices.trusted([cookie], 'ops')).toBeUndefined();
    const [issuedAt, , signature] = cookie.split('.');
    expect(devices.trusted([`${issuedAt}.forged-nonce.${signature}`], 'admin')).toBeUndefined();
    expect(
      devices.trusted([`${Number(issuedAt) + 1}.${nonce}.${signature}`], 'admin'),
    ).toBeUndefined();
    expect(
      devices.trusted(
        [new TrustedDevices({ ttl: 60_000, maxFailures: 2, now: () => now }).issue('admin')],
        'admin',
      ),
    ).toBeUndefined();
    expect(devices.trusted(['junk', cookie], 'admin')).toBe(nonce);

    devices.fail(nonce!);
    expect(devices.trusted([cookie], 'admin')).toBe(nonce);
    devices.fail(nonce!);
    expect(devices.trusted([cookie], 'admin')).toBeUndefined();

    const fresh = devices.issue('admin');
    now += 60_000;
    expect(devices.trusted([fresh], 'admin')).toBeUndefined();
    expect(
      new TrustedDevices({ ttl: 0, maxFailures: 2 }).trusted([fresh], 'admin'),
    ).toBeUndefined();
  });

  it('keeps trusting across a restart when a secret is set', () => {
    const cookie = new TrustedDevices({
      secret: 's'.repeat(32),
      ttl: 60_000,
      maxFailures: 2,
    }).issue('admin');
    expect(
      new TrustedDevices({ secret: 's'.repeat(32), ttl: 60_000, maxFailures: 2 }).trusted(
        [cookie],
        'admin',
      ),
    ).toBeDefined();
  });
});
