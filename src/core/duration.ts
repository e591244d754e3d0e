import { z } from 'zod';
import { ConfigError } from './errors.js';

/** The units a duration string may carry: `'500ms'`, `'30s'`, `'15m'`, `'1h'`, `'1d'`. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

/**
 * A length of time in options: a string with its unit (`'1h'`, `'15m'`, `'30s'`, `'500ms'`,
 * `'1d'`), or a bare number in the unit the option documents (milliseconds for timeouts and
 * intervals, seconds for a cache `ttl`).
 */
export type Duration = number | `${number}${DurationUnit}`;

const UNIT_MS: Record<DurationUnit, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
/** Environment variables arrive as text: `"5000"` is the bare number 5000 in the option's unit. */
const NUMERIC = /^\d+(?:\.\d+)?$/;

/** Node clamps a longer setTimeout/setInterval delay to 1 ms, so a timer option must stay below it. */
export const MAX_TIMER_DELAY = 2_147_483_647;

export interface DurationRules {
  /** What a bare number means. */
  unit: 'ms' | 's';
  /** Smallest accepted value in milliseconds. Default 0. */
  min?: number;
  /** Largest accepted value in milliseconds. Default {@link MAX_TIMER_DELAY}: most durations feed a timer. */
  max?: number;
}

/** What a valid value looks like, for error messages. */
export function durationExpected(rules: DurationRules): string {
  const bare = rules.unit === 's' ? 'a number of seconds' : 'a number of milliseconds';
  const max = rules.max ?? MAX_TIMER_DELAY;
  const bounds: string[] = [];
  if (rules.min !== undefined && rules.min > 0)
    bounds.push(`at least ${formatDuration(rules.min)}`);
  if (max === MAX_TIMER_DELAY) bounds.push('at most 24.8d, the longest timer Node allows');
  else if (max < Number.MAX_SAFE_INTEGER) bounds.push(`at most ${formatDuration(max)}`);
  return `a duration like "1h", "15m", "30s", "500ms" or "1d", or ${bare}${bounds.length ? ` (${bounds.join(', ')})` : ''}`;
}

/** The duration in whole milliseconds, or undefined when `value` is not one within `rules`. */
export function toMilliseconds(value: unknown, rules: DurationRules): number | undefined {
  let amount: number;
  let factor: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    amount = value;
    factor = UNIT_MS[rules.unit];
  } else if (typeof value === 'string' && NUMERIC.test(value.trim())) {
    amount = Number(value.trim());
    factor = UNIT_MS[rules.unit];
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (!match) return undefined;
    amount = Number(match[1]);
    factor = UNIT_MS[match[2] as DurationUnit];
  } else {
    return undefined;
  }
  const exact = amount * factor;
  const ms = Math.round(exact);
  // Below a millisecond is refused rather than rounded: rounding 0.4 ms to 0 would mean "forever" for a ttl.
  if (Math.abs(exact - ms) > 1e-6) return undefined;
  if (ms < (rules.min ?? 0) || ms > (rules.max ?? MAX_TIMER_DELAY)) return undefined;
  return ms;
}

/**
 * Parses a duration option into milliseconds, or throws a ConfigError naming `option`.
 * @example parseDuration('15m', 'plugins.cache.ttl', { unit: 's' }) // 900000
 */
export function parseDuration(value: unknown, option: string, rules: DurationRules): number {
  const ms = toMilliseconds(value, rules);
  if (ms === undefined)
    throw new ConfigError([
      {
        name: option,
        received: JSON.stringify(value) ?? String(value),
        expected: durationExpected(rules),
      },
    ]);
  return ms;
}

/**
 * A zod schema for a duration option: accepts a {@link Duration}, outputs whole milliseconds.
 * Used in every plugin's options schema, so the config report names the option that is wrong.
 * @example timeout: durationSchema({ unit: 'ms', min: 1 }).default(2_000)
 */
export function durationSchema(rules: DurationRules): z.ZodType<number, Duration> {
  return z
    .custom<Duration>((value) => typeof value === 'number' || typeof value === 'string', {
      error: durationExpected(rules),
    })
    .transform((value, ctx) => {
      const ms = toMilliseconds(value, rules);
      if (ms !== undefined) return ms;
      ctx.addIssue({
        code: 'custom',
        message: durationExpected(rules),
        input: value,
        continue: true,
      });
      // Not z.NEVER: that would abort the object's own checks, and every problem is reported at once.
      return Number.NaN;
    });
}

/** `90000` -> `"1.5m"`: the shortest unit that reads whole, for messages and logs. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && (ms / UNIT_MS[unit]) * 10 === Math.round((ms / UNIT_MS[unit]) * 10))
      return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
