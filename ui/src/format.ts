import type { UIColumnFormat } from '../../src/core/ui.js';

/** The value at a dotted path (`pool.idle`); the whole value for an empty path. */
export function valueAt(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A value as plain text: nothing for null or undefined, JSON for objects. */
export const text = (value: unknown): string =>
  value === undefined || value === null
    ? ''
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);

/** `{path}` in a descriptor's template replaced by the value there; `encode` for URL paths. */
export function fillIn(template: string, value: unknown, encode = false): string {
  return template.replace(/\{([\w.-]+)\}/g, (_whole, path: string) =>
    encode ? encodeURIComponent(text(valueAt(value, path))) : text(valueAt(value, path)),
  );
}

/** Nested objects as dotted keys, so any JSON reads as a list of labelled values. */
export function flatten(
  value: unknown,
  prefix = '',
  out: [string, unknown][] = [],
  depth = 0,
): [string, unknown][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
    for (const [key, inner] of Object.entries(value))
      flatten(inner, prefix ? `${prefix}.${key}` : key, out, depth + 1);
  } else {
    out.push([prefix || 'value', value]);
  }
  return out;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatSeconds(total: number): string {
  const seconds = Math.floor(total);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return `${days}d ${hours}h ${minutes}m`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds % 60}s`;
  return `${seconds}s`;
}

export function formatValue(value: unknown, format: UIColumnFormat = 'text'): string {
  if (value === undefined || value === null || value === '') return '—';
  switch (format) {
    case 'number':
      return typeof value === 'number'
        ? value.toLocaleString('en', { maximumFractionDigits: 2 })
        : String(value);
    case 'bytes':
      return typeof value === 'number' ? formatBytes(value) : String(value);
    case 'duration':
      return typeof value === 'number' ? formatDuration(value) : String(value);
    case 'seconds':
      return typeof value === 'number' ? formatSeconds(value) : String(value);
    case 'percent':
      return typeof value === 'number' ? `${(value * 100).toFixed(1)} %` : String(value);
    case 'date': {
      const date = new Date(value as string | number);
      return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
    }
    case 'boolean':
      return value ? 'yes' : 'no';
    case 'json':
      return typeof value === 'string' ? value : JSON.stringify(value);
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

const GOOD = /^(healthy|ok|ready|active|set|up|running|open|true|yes|pass(ed|ing)?|success)$/i;
const WARN =
  /^(degraded|pending|starting|missing|candidate|warn(ing)?|initialis(ing|ed)|previous|stopping|unknown)$/i;
const BAD = /^(unhealthy|failed|error|invalid|down|unavailable|false|fatal|stopped|closed)$/i;

/** The colour class of a status word: good, warn, bad or neutral. */
export function statusTone(value: unknown): 'good' | 'warn' | 'bad' | 'neutral' {
  const text = String(value);
  if (GOOD.test(text)) return 'good';
  if (WARN.test(text)) return 'warn';
  if (BAD.test(text)) return 'bad';
  return 'neutral';
}
