import type { IncomingHttpHeaders } from 'node:http';

/** What the checks read of a request: Express's `Request` fits, so does a bare one with `protocol`. */
export interface OriginCheckRequest {
  headers: IncomingHttpHeaders;
  /** `http` or `https`, as the app sees it (Express's `req.protocol`). */
  protocol: string;
}

const SAME_ORIGIN_SITES = new Set(['same-origin', 'none']);

/** `host[:port]` as the URL parser normalises it (lower case, default port dropped), or undefined. */
function normalHost(protocol: string, host: string): string | undefined {
  // A Host header is a host and a port, nothing the parser would read as user, path or query.
  if (/[\s/?#@\\]/.test(host)) return undefined;
  try {
    return new URL(`${protocol}://${host}`).host;
  } catch {
    return undefined;
  }
}

/**
 * Why a request comes from a browser page of another origin, or undefined when it does not.
 * Browsers say where a request comes from: `Sec-Fetch-Site` (anything but `same-origin` or
 * `none`, which is the user typing the address), and `Origin` (`null` from sandboxed frames,
 * files and some redirects; otherwise it must name this request's scheme and Host header).
 * A request with neither header is no browser's (curl, scripts, server-to-server) and passes:
 * such callers carry no ambient credentials a page could borrow.
 * @example if (!SAFE_METHODS.has(req.method) && crossSiteReason(req)) throw new HttpError(403, ...)
 */
export function crossSiteReason(req: OriginCheckRequest): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && !SAME_ORIGIN_SITES.has(site.toLowerCase()))
    return `Sec-Fetch-Site is "${site.slice(0, 32)}"`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (origin === 'null') return 'Origin is "null"';
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return 'Origin is not a URL';
  }
  const host =
    req.headers.host === undefined ? undefined : normalHost(req.protocol, req.headers.host);
  if (host === undefined || parsed.host !== host)
    return 'Origin names another host than this request';
  // Most often a TLS-terminating proxy the app does not trust, so it sees http.
  if (parsed.protocol !== `${req.protocol}:`)
    return `Origin is ${parsed.protocol.slice(0, -1)} but the request came over ${req.protocol} (behind a TLS proxy, set trustProxy)`;
  return undefined;
}

const LOOPBACK_NAME =
  /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)*\.localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/;

/**
 * True when the Host header names this machine's loopback (localhost, *.localhost, 127.x.x.x,
 * [::1], any port) or one of `allowedHosts` (host names, any port). A page that reached a
 * loopback port through DNS rebinding still sends its own name, so it fails here.
 */
export function isLocalHost(
  host: string | undefined,
  allowedHosts: readonly string[] = [],
): boolean {
  if (host === undefined) return false;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i.exec(host);
  if (!match) return false;
  const name = match[1].toLowerCase();
  return LOOPBACK_NAME.test(name) || allowedHosts.includes(name);
}
