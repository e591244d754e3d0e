import { HttpError } from '../../core/errors.js';
import { decodeCursor, type LogCursor } from './cursor.js';
import { LEVELS, type LogFilter } from './filter.js';

/** Request ids the core logger keeps or generates; anything else cannot be in a log line as-is. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_TEXT_LENGTH = 1_000;

export interface InvalidParam {
  name: string;
  reason: string;
}

export interface PageRequest {
  filter: LogFilter;
  limit: number;
  cursor?: LogCursor;
}

type Query = Record<string, unknown>;

/** One value per parameter: `?level=a&level=b` is a mistake worth reporting, not guessing at. */
function single(query: Query, name: string, problems: InvalidParam[]): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    problems.push({ name, reason: 'must be given once, as a plain value' });
    return undefined;
  }
  return value === '' ? undefined : value;
}

function parseLevel(value: string, problems: InvalidParam[]): number | undefined {
  const named = LEVELS[value.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d{1,3}$/.test(value)) return Number(value);
  problems.push({
    name: 'level',
    reason: `expected one of ${Object.keys(LEVELS).join(', ')} or a level number, got "${value.slice(0, 40)}"`,
  });
  return undefined;
}

function parseTime(name: string, value: string, problems: InvalidParam[]): number | undefined {
  const parsed = ISO_DATE.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed)) {
    problems.push({
      name,
      reason: `expected an ISO 8601 date-time such as 2025-01-31T12:00:00Z, got "${value.slice(0, 40)}"`,
    });
    return undefined;
  }
  return parsed;
}

/** The filters shared by the query and the stream: level, q, requestId. */
function parseCommonFilter(query: Query, problems: InvalidParam[]): LogFilter {
  const filter: LogFilter = {};
  const level = single(query, 'level', problems);
  if (level !== undefined) filter.minLevel = parseLevel(level, problems);
  const text = single(query, 'q', problems);
  if (text !== undefined) {
    if (text.length > MAX_TEXT_LENGTH)
      problems.push({ name: 'q', reason: `at most ${MAX_TEXT_LENGTH} characters` });
    else filter.text = text.toLowerCase();
  }
  const requestId = single(query, 'requestId', problems);
  if (requestId !== undefined) {
    if (REQUEST_ID.test(requestId)) filter.requestId = requestId;
    else
      problems.push({
        name: 'requestId',
        reason: 'expected 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-"',
      });
  }
  return filter;
}

function fail(problems: InvalidParam[]): never {
  const names = problems.map((problem) => problem.name).join(', ');
  const detail = problems.map((problem) => `${problem.name}: ${problem.reason}`).join('; ');
  throw new HttpError(
    400,
    'LOGS_INVALID_QUERY',
    `Invalid query parameter${problems.length > 1 ? 's' : ''} ${names}: ${detail}`,
    {
      details: { invalidParams: problems },
    },
  );
}

/** Parses `GET /api/logs` parameters; every problem is reported at once, each naming its parameter. */
export function parsePageRequest(
  query: Query,
  limits: { pageSize: number; maxPageSize: number },
): PageRequest {
  const problems: InvalidParam[] = [];
  const filter = parseCommonFilter(query, problems);
  const since = single(query, 'since', problems);
  if (since !== undefined) filter.since = parseTime('since', since, problems);
  const until = single(query, 'until', problems);
  if (until !== undefined) filter.until = parseTime('until', until, problems);
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    problems.push({ name: 'since', reason: 'must not be after until' });
  }
  let limit = limits.pageSize;
  const rawLimit = single(query, 'limit', problems);
  if (rawLimit !== undefined) {
    if (
      /^\d{1,7}$/.test(rawLimit) &&
      Number(rawLimit) >= 1 &&
      Number(rawLimit) <= limits.maxPageSize
    )
      limit = Number(rawLimit);
    else
      problems.push({
        name: 'limit',
        reason: `expected an integer from 1 to ${limits.maxPageSize}, got "${rawLimit.slice(0, 40)}"`,
      });
  }
  let cursor: LogCursor | undefined;
  const rawCursor = single(query, 'cursor', problems);
  if (rawCursor !== undefined) {
    cursor = decodeCursor(rawCursor);
    if (!cursor)
      problems.push({
        name: 'cursor',
        reason: 'not a cursor returned by this endpoint (pass nextCursor back unchanged)',
      });
  }
  if (problems.length > 0) fail(problems);
  return { filter, limit, cursor };
}

/** Parses `GET /api/logs/stream` parameters (no time range or paging: the stream is live). */
export function parseStreamFilter(query: Query): LogFilter {
  const problems: InvalidParam[] = [];
  const filter = parseCommonFilter(query, problems);
  if (problems.length > 0) fail(problems);
  return filter;
}
