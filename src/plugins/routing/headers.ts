import type { IncomingMessage } from 'node:http';
import type { ClientAddresses } from '../../core/client-address.js';
import type { HeaderEdits } from './options.js';

/** Hop-by-hop headers (RFC 9110 section 7.6.1) plus the ones a proxy must never pass on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
/** Set by the gateway from the real connection; a client's own values are dropped unless trusted. */
const FORWARDING = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'forwarded',
  'x-real-ip',
]);

export interface RequestHeaderPlan {
  requestId: string;
  /** The app's one trustProxy: whether the TCP peer may speak for the client. */
  trusted: ClientAddresses;
  preserveHost: boolean;
  edits?: HeaderEdits;
  /** Cookies that belong to the gateway (the control panel's session): never sent upstream. */
  privateCookies?: readonly string[];
  /** Headers only the gateway sets (the auth plugin's identity header): the client's are dropped. */
  reserved?: ReadonlySet<string>;
  /**
   * Headers edge hooks set for the upstream (`exchange.upstreamHeaders`, lower-case names),
   * flat `[name, value, ...]`: they replace any the client sent under the same name.
   */
  set?: readonly string[];
}

/** Whether a flat `[name, value, ...]` list names `name` (lists here hold a pair or two). */
function lists(list: readonly string[] | undefined, name: string): boolean {
  if (list === undefined) return false;
  for (let index = 0; index < list.length; index += 2) if (list[index] === name) return true;
  return false;
}

/** Names listed in `Connection: a, b` are hop-by-hop for this message too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  // Nearly every message says keep-alive or close, spelt one of these ways: no pattern run then.
  if (joined === 'keep-alive' || joined === 'close' || joined === 'Keep-Alive') return undefined;
  if (!joined.includes(',') && /^\s*(keep-alive|close)\s*$/i.test(joined)) return undefined;
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The upstream request's headers as a flat `[name, value, ...]` list: hop-by-hop and forwarding
 * headers dropped, X-Forwarded-* built from the real connection, the request id passed on.
 */
export function upstreamRequestHeaders(req: IncomingMessage, plan: RequestHeaderPlan): string[] {
  const raw = req.rawHeaders;
  const remote = req.socket.remoteAddress ?? '';
  const trusted = plan.trusted.peerTrusted(req);
  const listed = connectionTokens(req.headers.connection);
  const removed = plan.edits?.remove;
  const out: string[] = [];
  let forwardedFor: string | undefined;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index].toLowerCase();
    if (
      HOP_BY_HOP.has(name) ||
      name.startsWith('proxy-') ||
      name === 'x-request-id' ||
      name === 'expect'
    )
      continue;
    if (name === 'host' && !plan.preserveHost) continue;
    if (plan.reserved?.has(name) || lists(plan.set, name)) continue;
    if (FORWARDING.has(name)) {
      if (!trusted) continue;
      if (name === 'x-forwarded-for') {
        forwardedFor =
          forwardedFor === undefined ? raw[index + 1] : `${forwardedFor}, ${raw[index + 1]}`;
        continue;
      }
    }
    if (listed?.has(name)) continue;
    if (removed && removed.length > 0 && removed.some((header) => header.toLowerCase() === name))
      continue;
    if (name === 'cookie' && plan.privateCookies && plan.privateCookies.length > 0) {
      const kept = withoutCookies(raw[index + 1], plan.privateCookies);
      if (kept) out.push(raw[index], kept);
      continue;
    }
    out.push(raw[index], raw[index + 1]);
  }
  const client = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
  out.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  if (!trusted || req.headers['x-forwarded-proto'] === undefined) {
    out.push(
      'x-forwarded-proto',
      (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    );
  }
  if ((!trusted || req.headers['x-forwarded-host'] === undefined) && req.headers.host)
    out.push('x-forwarded-host', req.headers.host);
  out.push('x-request-id', plan.requestId);
  if (plan.edits)
    for (const [name, value] of Object.entries(plan.edits.add)) replaceHeader(out, name, value);
  // Last: what a hook set (the signed identity) wins over a route's static edits too.
  const set = plan.set;
  if (set && set.length > 0) {
    if (plan.edits)
      for (let index = 0; index < set.length; index += 2)
        replaceHeader(out, set[index], set[index + 1]);
    else for (let index = 0; index < set.length; index++) out.push(set[index]);
  }
  return out;
}

/** A Cookie header without the named cookies; empty when nothing is left. */
export function withoutCookies(header: string, names: readonly string[]): string {
  return header
    .split(';')
    .filter((pair) => {
      const equals = pair.indexOf('=');
      return !names.includes((equals === -1 ? pair : pair.slice(0, equals)).trim());
    })
    .map((pair) => pair.trim())
    .filter(Boolean)
    .join('; ');
}

function replaceHeader(list: string[], name: string, value: string): void {
  const lower = name.toLowerCase();
  for (let index = list.length - 2; index >= 0; index -= 2)
    if (list[index].toLowerCase() === lower) list.splice(index, 2);
  list.push(name, value);
}

/**
 * The client response's headers as a flat list: hop-by-hop dropped, the upstream's CORS headers
 * dropped (the gateway owns the CORS policy), the gateway's request id set.
 */
export function clientResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  requestId: string,
  edits?: HeaderEdits,
): string[] {
  const listed = connectionTokens(headers.connection);
  const removed = edits?.remove;
  const out: string[] = [];
  for (const name in headers) {
    if (
      HOP_BY_HOP.has(name) ||
      name.startsWith('proxy-') ||
      name === 'x-request-id' ||
      name.startsWith('access-control-')
    )
      continue;
    if (listed?.has(name)) continue;
    if (removed && removed.length > 0 && removed.some((header) => header.toLowerCase() === name))
      continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  out.push('x-request-id', requestId);
  if (edits) for (const [name, value] of Object.entries(edits.add)) replaceHeader(out, name, value);
  return out;
}
