/** pino's level numbers; our logger writes the label (`"level":"info"`), pino's default the number. */
export const LEVELS: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** What a log line must satisfy to be returned. Every field is optional. */
export interface LogFilter {
  /** Minimum level number. */
  minLevel?: number;
  /** Epoch milliseconds, inclusive. */
  since?: number;
  /** Epoch milliseconds, inclusive. */
  until?: number;
  /** Lower-cased text looked for in the raw line. */
  text?: string;
  requestId?: string;
}

/** A log line parsed once; `time` is undefined when the line carries none we understand. */
export interface ParsedLine {
  raw: string;
  entry: Record<string, unknown>;
  time: number | undefined;
}

/** The level of an entry as a number, whichever way it was written. */
export function levelNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string')
    return LEVELS[value.toLowerCase()] ?? (/^\d+$/.test(value) ? Number(value) : undefined);
  return undefined;
}

/** pino writes `time` as epoch milliseconds by default; ours is an ISO string. */
export function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/** Checks that need only the raw text run first, so most lines are rejected before JSON.parse. */
export function rawMayMatch(raw: string, filter: LogFilter): boolean {
  if (filter.requestId !== undefined && !raw.includes(filter.requestId)) return false;
  if (filter.text !== undefined && !raw.toLowerCase().includes(filter.text)) return false;
  return true;
}

/** Parses one NDJSON line; malformed lines and non-objects give undefined. */
export function parseLine(raw: string): ParsedLine | undefined {
  let entry: unknown;
  try {
    entry = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const record = entry as Record<string, unknown>;
  return { raw, entry: record, time: timeOf(record.time) };
}

/** The checks on parsed fields (time range, level, request id). */
export function entryMatches(line: ParsedLine, filter: LogFilter): boolean {
  if (filter.minLevel !== undefined) {
    const level = levelNumber(line.entry.level);
    if (level === undefined || level < filter.minLevel) return false;
  }
  if (filter.since !== undefined || filter.until !== undefined) {
    if (line.time === undefined) return false;
    if (filter.since !== undefined && line.time < filter.since) return false;
    if (filter.until !== undefined && line.time > filter.until) return false;
  }
  if (filter.requestId !== undefined && line.entry.requestId !== filter.requestId) return false;
  return true;
}

const RAW_TIME = /"time":("[^"]{1,64}"|\d{1,16})/;

/** The time of a line without parsing all of it, for lines the text filters already rejected. */
export function rawTime(raw: string): number | undefined {
  const match = RAW_TIME.exec(raw);
  if (!match) return undefined;
  return timeOf(match[1].startsWith('"') ? match[1].slice(1, -1) : Number(match[1]));
}
