/** A request path checked for use against the file system. */
export type ParsedPath =
  | { kind: 'path'; segments: string[]; trailingSlash: boolean }
  /** Traversal or smuggling attempts and malformed escapes: answered 400. */
  | { kind: 'invalid'; reason: string }
  /** A dotfile or dot-folder (`.env`, `.git/config`): answered as not found. */
  | { kind: 'hidden' };

// Encoded slashes, backslashes and NUL could make one segment act as several on some file
// systems, and control characters have no business in a file name.
const FORBIDDEN_RAW = /%2f|%5c|%00|\\/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Splits the path below `mountLength` characters into decoded segments, refusing anything that
 * could step outside the root: `..` in any spelling (`%2e%2e`, overlong UTF-8), encoded slashes,
 * backslashes, NUL and control characters. The check runs on the decoded segments, so the
 * spelling on the wire does not matter.
 */
export function parseRequestPath(originalUrl: string, mountLength: number): ParsedPath {
  const queryAt = originalUrl.indexOf('?');
  const raw = (queryAt === -1 ? originalUrl : originalUrl.slice(0, queryAt)).slice(mountLength);
  if (FORBIDDEN_RAW.test(raw))
    return { kind: 'invalid', reason: 'encoded slashes, backslashes and NUL are not allowed' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { kind: 'invalid', reason: 'the path is not valid percent-encoded UTF-8' };
  }
  if (CONTROL.test(decoded))
    return { kind: 'invalid', reason: 'control characters are not allowed' };
  const segments: string[] = [];
  let hidden = false;
  for (const segment of decoded.split('/')) {
    if (segment === '') continue;
    if (segment === '.' || segment === '..')
      return { kind: 'invalid', reason: 'dot segments are not allowed' };
    if (segment.startsWith('.')) hidden = true;
    segments.push(segment);
  }
  if (hidden) return { kind: 'hidden' };
  return { kind: 'path', segments, trailingSlash: decoded.endsWith('/') };
}

/** True when the Accept header names `text/html` with a non-zero quality (`*\/*` alone does not count). */
export function acceptsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';');
    if (type.trim().toLowerCase() !== 'text/html') continue;
    return qualityOf(params) > 0;
  }
  return false;
}

function qualityOf(params: string[]): number {
  for (const param of params) {
    const [name, value] = param.split('=');
    if (name.trim().toLowerCase() === 'q') {
      const q = Number(value);
      return Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0;
    }
  }
  return 1;
}

export type ContentCoding = 'br' | 'gzip';

/**
 * Picks the precompressed variant to send: the available coding with the highest quality in
 * Accept-Encoding (brotli on a tie), unless the client explicitly rates identity higher. A missing header
 * means identity, the safe reading for old clients and proxies.
 */
export function negotiateEncoding(
  acceptEncoding: string | undefined,
  available: { br: boolean; gzip: boolean },
): ContentCoding | undefined {
  if (!acceptEncoding || (!available.br && !available.gzip)) return undefined;
  const qualities = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.split(';');
    const name = coding.trim().toLowerCase();
    if (name) qualities.set(name === 'x-gzip' ? 'gzip' : name, qualityOf(params));
  }
  const wildcard = qualities.get('*');
  const quality = (coding: string) => qualities.get(coding) ?? wildcard ?? 0;
  // Identity is always acceptable, but only an explicit rating ranks it above a listed coding.
  const identity = qualities.get('identity') ?? 0;
  let best: ContentCoding | undefined;
  let bestQuality = 0;
  for (const coding of ['br', 'gzip'] as const) {
    if (!available[coding]) continue;
    const q = quality(coding);
    if (q > bestQuality) {
      best = coding;
      bestQuality = q;
    }
  }
  return best && bestQuality >= identity ? best : undefined;
}

/** True when the last segment has an extension (`app.js`, `v1.2`), which rules out the SPA fallback. */
export function hasExtension(segments: readonly string[]): boolean {
  const last = segments.at(-1);
  return last !== undefined && last.lastIndexOf('.') > 0;
}
