import { normaliseTarget } from '../../core/path.js';

/**
 * The path a rule is matched against: the routing grammar's normal form (`core/path.ts`: dot
 * segments resolved, repeated slashes collapsed, unreserved escapes decoded), lower-cased since
 * Express routes are case-insensitive, so `/API/./v1//../login` and `/log%69n` cannot slip past a
 * rule for `/login`. A target the grammar refuses (an encoded slash) counts as it is written.
 */
export function matchablePath(url: string): string {
  const target = normaliseTarget(url);
  if (!('error' in target)) return target.path.toLowerCase();
  const end = url.search(/[?#]/);
  return (end === -1 ? url : url.slice(0, end)).toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles a rule's `match`:
 * - `/login` (no wildcard) matches `/login` and everything below it (`/login/sso`), not `/loginx`;
 * - `*` matches within one segment (`/api/v1/users/*` + `/avatar`), `**` across segments;
 * - a trailing `/*` matches the prefix and everything below it, as routes are written (`/api/v1/*`).
 */
export function compileMatch(pattern: string): (path: string) => boolean {
  // The normal form keeps a trailing slash, as the pattern was written.
  const normalised = matchablePath(pattern);
  if (!normalised.includes('*')) {
    if (normalised === '/') return () => true;
    const base = normalised.replace(/\/$/, '');
    const below = `${base}/`;
    return (path) => path === base || path.startsWith(below);
  }
  const trailing = normalised.endsWith('/*') || normalised.endsWith('/**');
  const body = trailing ? normalised.replace(/\/\*\*?$/, '') : normalised;
  const source = body
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join('[^/]*'))
    .join('.*');
  const regex = new RegExp(`^${source}${trailing ? '(?:/.*)?' : ''}$`);
  return (path) => regex.test(path);
}
