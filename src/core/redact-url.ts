/**
 * Query parameters whose values are credentials (OAuth codes and tokens, signed-URL signatures,
 * API keys, passwords), compared lower-case. Their values never reach a log line.
 */
export const REDACTED_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'code',
  'password',
  'secret',
  'api_key',
  'apikey',
  'key',
  'signature',
  'sig',
]);

const CENSOR = '[REDACTED]';
const SHORTEST = Math.min(...[...REDACTED_QUERY_PARAMS].map((name) => name.length));
const LONGEST = Math.max(...[...REDACTED_QUERY_PARAMS].map((name) => name.length));
/** First letters of the names, lower-case: most parameters are ruled out by one comparison. */
const FIRST_LETTERS = new Set([...REDACTED_QUERY_PARAMS].map((name) => name.charCodeAt(0)));

/**
 * A URL (or request target) as it may be logged: the value of every credential parameter
 * (`REDACTED_QUERY_PARAMS`, any case) replaced by `[REDACTED]`, the name kept. Request lines go
 * through this on the hot path, so a target without `?` is returned as it is after one
 * `indexOf`, and one with a query is rebuilt only when something in it is redacted.
 * @example redactUrl('/cb?code=abc&state=1') // '/cb?code=[REDACTED]&state=1'
 */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : redactQuery(url, query + 1);
}

function redactQuery(url: string, from: number): string {
  const hash = url.indexOf('#', from);
  const limit = hash === -1 ? url.length : hash;
  let redacted = '';
  let copied = 0;
  // The next `=`, searched again only once passed, so a long query is read once, not per parameter.
  let equals = -1;
  for (let start = from; start < limit;) {
    let end = url.indexOf('&', start);
    if (end === -1 || end > limit) end = limit;
    if (equals < start) {
      equals = url.indexOf('=', start);
      if (equals === -1) break;
    }
    if (equals < end && equals > start && isCredential(url, start, equals)) {
      redacted += url.slice(copied, equals + 1) + CENSOR;
      copied = end;
    }
    start = end + 1;
  }
  return copied === 0 ? url : redacted + url.slice(copied);
}

/** Whether the parameter name in `url[start, end)` is a credential; percent-encoded names too. */
function isCredential(url: string, start: number, end: number): boolean {
  const length = end - start;
  if (length >= SHORTEST && length <= LONGEST && FIRST_LETTERS.has(url.charCodeAt(start) | 0x20)) {
    if (REDACTED_QUERY_PARAMS.has(url.slice(start, end).toLowerCase())) return true;
  }
  const percent = url.indexOf('%', start);
  return percent !== -1 && percent < end && isEncodedCredential(url.slice(start, end));
}

function isEncodedCredential(name: string): boolean {
  try {
    return REDACTED_QUERY_PARAMS.has(decodeURIComponent(name).toLowerCase());
  } catch {
    return false;
  }
}
