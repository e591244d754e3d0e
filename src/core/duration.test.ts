import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  durationSchema,
  formatDuration,
  MAX_TIMER_DELAY,
  parseDuration,
  toMilliseconds,
} from './duration.js';
import { ConfigError } from './errors.js';

describe('durations', () => {
  it('reads every unit into milliseconds', () => {
    const rules = { unit: 'ms', max: Number.MAX_SAFE_INTEGER } as const;
    expect(toMilliseconds('500ms', rules)).toBe(500);
    expect(toMilliseconds('30s', rules)).toBe(30_000);
    expect(toMilliseconds('1.5s', rules)).toBe(1_500);
    expect(toMilliseconds('15m', rules)).toBe(900_000);
    expect(toMilliseconds('1h', rules)).toBe(3_600_000);
    expect(toMilliseconds('1d', rules)).toBe(86_400_000);
    expect(toMilliseconds('0s', rules)).toBe(0);
  });

  it('reads a bare number, or numeric text from the environment, in the unit the option documents', () => {
    expect(toMilliseconds(3600, { unit: 's', max: Number.MAX_SAFE_INTEGER })).toBe(3_600_000);
    expect(toMilliseconds(0.25, { unit: 's' })).toBe(250);
    expect(toMilliseconds(1.1, { unit: 's' })).toBe(1_100);
    expect(toMilliseconds(2_000, { unit: 'ms' })).toBe(2_000);
    expect(toMilliseconds('2000', { unit: 'ms' })).toBe(2_000);
    expect(toMilliseconds('60', { unit: 's' })).toBe(60_000);
  });

  it('refuses what is not a duration, or falls outside the bounds', () => {
    for (const bad of [
      '1 hour',
      '1w',
      'h',
      '',
      '-1s',
      '1e3',
      ' ',
      '10 ms',
      'Infinitys',
      null,
      true,
      {},
      Number.NaN,
      -1,
      Infinity,
    ]) {
      expect(toMilliseconds(bad, { unit: 'ms' }), JSON.stringify(bad)).toBeUndefined();
    }
    // Below a millisecond is no duration: rounding it to 0 would mean "no expiry" for a ttl.
    expect(toMilliseconds('0.5ms', { unit: 'ms' })).toBeUndefined();
    expect(toMilliseconds(0.0001, { unit: 's' })).toBeUndefined();
    expect(toMilliseconds(1.5, { unit: 'ms' })).toBeUndefined();
    expect(toMilliseconds('0ms', { unit: 'ms', min: 1 })).toBeUndefined();
    // A longer timer delay is silently clamped to 1 ms by Node: an interval of '30d' would spin.
    expect(toMilliseconds('30d', { unit: 'ms' })).toBeUndefined();
    expect(toMilliseconds(MAX_TIMER_DELAY, { unit: 'ms' })).toBe(MAX_TIMER_DELAY);
    expect(toMilliseconds('30d', { unit: 'ms', max: Number.MAX_SAFE_INTEGER })).toBe(2_592_000_000);
  });

  it('names the option and what it expects when a string is not a duration', () => {
    expect(parseDuration('2h', 'plugins.cache.ttl', { unit: 's' })).toBe(7_200_000);
    let error: unknown;
    try {
      parseDuration('1 hour', 'plugins.cache.ttl', { unit: 's' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        name: 'plugins.cache.ttl',
        received: '"1 hour"',
        expected: expect.stringMatching(
          /"1h", "15m", "30s", "500ms" or "1d", or a number of seconds/,
        ),
      },
    ]);
  });

  it('works as a zod schema with a default in milliseconds', () => {
    const schema = z.object({ timeout: durationSchema({ unit: 'ms', min: 1 }).default(2_000) });
    expect(schema.parse({})).toEqual({ timeout: 2_000 });
    expect(schema.parse({ timeout: '5s' })).toEqual({ timeout: 5_000 });
    const result = schema.safeParse({ timeout: '5 seconds' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ['timeout'],
      message: expect.stringContaining('at least 1ms'),
    });
    expect(schema.safeParse({ timeout: 0 }).success).toBe(false);
  });

  it('formats milliseconds with the largest unit that reads whole', () => {
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(90_000)).toBe('1.5m');
    expect(formatDuration(250)).toBe('250ms');
  });
});
