import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4 } from 'node:net';
import type { HeaderEdits } from './config.js';

/** Hop-by-hop headers (RFC 9110 section 7.6.1) plus the ones a proxy must never pass on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);
/** Set by the gateway from the real connection; a client's own values are dropped unless trusted. */
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'forwarded', 'x-real-ip']);

/** The same names Express's `trust proxy` and the rate-limit plugin's `trustProxy` accept. */
const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** The previous hops whose forwarding headers are believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries.flatMap((item) => NAMED_RANGES[item] ?? [item])) {
      const [address, bits] = entry.split('/');
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(bits), family);
    }
  }

  has(address: string | undefined): boolean {
    if (this.empty || !address) return false;
    const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
    return this.list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
  }
}

/**
 * Whether the client reached us over TLS: on this socket, or per the `X-Forwarded-Proto` of a
 * trusted proxy (the first value, as Express reads it), the same belief the upstream is given.
 */
export function arrivedOverTls(req: IncomingMessage, trusted: TrustedProxies): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  if (trusted.empty) return false;
  const proto = req.headers['x-forwarded-proto'];
  if (typeof proto !== 'string' || !trusted.has(req.socket.remoteAddress)) return false;
  const comma = proto.indexOf(',');
  return (comma === -1 ? proto : proto.slice(0, comma)).trim() === 'https';
}

export interface RequestHeaderPlan {
  requestId: string;
  trusted: TrustedProxies;
  preserveHost: boolean;
  edits?: HeaderEdits;
  /** Cookies that belong to the gateway (the control panel's session): never sent upstream. */
  privateCookies?: readonly string[];
}

/** Names listed in `Connection: a, b` are hop-by-hop for this message too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  if (!joined.includes(',') && /^\s*(keep-alive|close)\s*$/i.test(joined)) return undefined;
  return new Set(joined.split(',').map((token) => token.trim().toLowerCase()).filter(Boolean));
}

/**
 * The upstream request's headers as a flat `[name, value, ...]` list: hop-by-hop and forwarding
 * headers dropped, X-Forwarded-* built from the real connection, the request id passed on.
 */
export function upstreamRequestHeaders(req: IncomingMessage, plan: RequestHeaderPlan): string[] {
  const raw = req.rawHeaders;
  const remote = req.socket.remoteAddress ?? '';
  const trusted = plan.trusted.has(remote);
  const listed = connectionTokens(req.headers.connection);
  const removed = plan.edits?.remove;
  const out: string[] = [];
  let forwardedFor: string | undefined;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index].toLowerCase();
    if (HOP_BY_HOP.has(name) || name.startsWith('proxy-') || name === 'x-request-id' || name === 'expect') continue;
    if (name === 'host' && !plan.preserveHost) continue;
    if (FORWARDING.has(name)) {
      if (!trusted) continue;
      if (name === 'x-forwarded-for') {
        forwardedFor = forwardedFor === undefined ? raw[index + 1] : `${forwardedFor}, ${raw[index + 1]}`;
        continue;
      }
    }
    if (listed?.has(name)) continue;
    if (removed && removed.length > 0 && removed.some((header) => header.toLowerCase() === name)) continue;
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
    out.push('x-forwarded-proto', (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  }
  if ((!trusted || req.headers['x-forwarded-host'] === undefined) && req.headers.host) out.push('x-forwarded-host', req.headers.host);
  out.push('x-request-id', plan.requestId);
  if (plan.edits) for (const [name, value] of Object.entries(plan.edits.add)) replaceHeader(out, name, value);
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
  for (let index = list.length - 2; index >= 0; index -= 2) if (list[index].toLowerCase() === lower) list.splice(index, 2);
  list.push(name, value);
}

/**
 * The client response's headers as a flat list: hop-by-hop dropped, the upstream's CORS headers
 * dropped (the gateway owns the CORS policy), the gateway's request id set.
 */
export function clientResponseHeaders(headers: Record<string, string | string[] | undefined>, requestId: string, edits?: HeaderEdits): string[] {
  const listed = connectionTokens(headers.connection);
  const removed = edits?.remove;
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name.startsWith('proxy-') || name === 'x-request-id' || name.startsWith('access-control-')) continue;
    if (listed?.has(name)) continue;
    if (removed && removed.length > 0 && removed.some((header) => header.toLowerCase() === name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  out.push('x-request-id', requestId);
  if (edits) for (const [name, value] of Object.entries(edits.add)) replaceHeader(out, name, value);
  return out;
}
