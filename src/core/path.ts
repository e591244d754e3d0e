/**
 * Request-target normalisation. Routes are matched on the normalised path and the normalised
 * path is what goes upstream, so the gateway and the service always agree on which resource a
 * request names: `..`, `%2e%2e` and `//` cannot step out of a route, and encodings whose meaning
 * differs between servers (`%2f`, `%5c`, `%00`, a raw backslash) are refused.
 */

export type NormalisedTarget = { path: string; query: string } | { error: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;
// Anything that needs no work: no percent sign, no dot segment, no empty segment, no backslash.
const NEEDS_WORK = /%|\/\.|\/\/|\\/;

function decodeUnreserved(path: string): string | { error: string } {
  let out = '';
  for (let index = 0; index < path.length; index++) {
    const char = path[index];
    if (char !== '%') {
      out += char;
      continue;
    }
    const hex = path.slice(index + 1, index + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { error: 'malformed percent-encoding in the path' };
    const decoded = String.fromCharCode(parseInt(hex, 16));
    if (decoded === '/' || decoded === '\\')
      return { error: 'encoded slash or backslash in the path' };
    if (decoded.charCodeAt(0) < 0x20 || decoded.charCodeAt(0) === 0x7f)
      return { error: 'encoded control character in the path' };
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    index += 2;
  }
  return out;
}

/** RFC 3986 section 5.2.4, with empty segments collapsed; `..` never climbs above the root. */
function removeDotSegments(path: string): string {
  const output: string[] = [];
  const segments = path.split('/');
  for (let index = 1; index < segments.length; index++) {
    const segment = segments[index];
    const last = index === segments.length - 1;
    if (segment === '..') {
      output.pop();
      if (last) output.push('');
    } else if (segment === '.' || segment === '') {
      if (last) output.push('');
    } else {
      output.push(segment);
    }
  }
  return `/${output.join('/')}`;
}

/**
 * Splits an origin-form request target into its normalised path and raw query (with `?`).
 * @example normaliseTarget('/a/%2e%2e/b//c?x=1') // { path: '/b/c', query: '?x=1' }
 */
export function normaliseTarget(url: string): NormalisedTarget {
  if (url.charCodeAt(0) !== 47 /* / */)
    return { error: 'the request target must be a path starting with "/"' };
  const queryAt = url.indexOf('?');
  const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  if (!NEEDS_WORK.test(rawPath)) return { path: rawPath, query };
  if (rawPath.includes('\\')) return { error: 'backslash in the path' };
  const decoded = decodeUnreserved(rawPath);
  if (typeof decoded !== 'string') return decoded;
  return { path: removeDotSegments(decoded), query };
}

/** A compiled `match`: an exact path or a prefix (`/api/v1/*` matches `/api/v1` and below). */
export interface PathMatcher {
  readonly pattern: string;
  /** The literal part: `/api/v1` for `/api/v1/*`, `` for `/*`. */
  readonly prefix: string;
  readonly exact: boolean;
  test(path: string): boolean;
  /** What follows the prefix, starting with `/` (or `/` when nothing does). */
  rest(path: string): string;
}

export function compileMatch(pattern: string): PathMatcher {
  const exact = !pattern.endsWith('/*');
  const prefix = exact ? pattern : pattern.slice(0, -2);
  return {
    pattern,
    prefix,
    exact,
    test: exact
      ? (path) => path === prefix || path === `${prefix}/`
      : (path) =>
          path.startsWith(prefix) &&
          (path.length === prefix.length || path.charCodeAt(prefix.length) === 47),
    rest: (path) => (path.length > prefix.length ? path.slice(prefix.length) : '/'),
  };
}

/** Most specific first: exact paths, then longer prefixes; declaration order breaks ties. */
export function bySpecificity(a: PathMatcher, b: PathMatcher): number {
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  return b.prefix.length - a.prefix.length;
}

/** Joins a target's base path and the forwarded path without doubling or dropping the slash. */
export function joinPath(base: string, path: string): string {
  if (base === '' || base === '/') return path;
  const trimmed = base.endsWith('/') ? base.slice(0, -1) : base;
  return path === '/' ? `${trimmed}/` : `${trimmed}${path}`;
}
