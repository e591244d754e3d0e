const NEEDS_NORMALISING = /[%.\\A-Z]|\/\/|\/$/;

/**
 * The path a rule is matched against: percent-decoded, dot segments resolved, repeated slashes
 * collapsed and lower-cased (Express routes are case-insensitive), so `/API/./v1//../login` and
 * `/log%69n` cannot slip past a rule for `/login`.
 */
export function matchablePath(url: string): string {
  const end = url.search(/[?#]/);
  const raw = end === -1 ? url : url.slice(0, end);
  // Most paths need none of the work below; this keeps the check off the per-request cost.
  if (raw.startsWith('/') && !NEEDS_NORMALISING.test(raw)) return raw;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Malformed escapes stay as they are; routing refuses such requests anyway.
  }
  const segments: string[] = [];
  for (const segment of decoded.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`.toLowerCase();
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
  const normalised = matchablePath(pattern) + (pattern.endsWith('/') && pattern !== '/' ? '/' : '');
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
