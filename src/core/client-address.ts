import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * Which proxies in front of the app may speak for the client through `X-Forwarded-For`.
 * - `false` (the default): none; the client is the peer of the TCP connection and the header is ignored.
 * - a number `n`: the `n` hops nearest the app are proxies (`1` = one load balancer in front).
 * - a list of addresses, subnets (`10.0.0.0/8`, `fd00::/8`) or the names `loopback`, `linklocal`,
 *   `uniquelocal`: a hop is trusted when its address is in the list.
 */
export type TrustProxy = false | number | readonly string[];

/** Resolves the client address of a request under one trust setting. */
export type ClientIpResolver = (req: IncomingMessage) => string;

const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** `::ffff:10.0.0.1` (IPv4 seen through an IPv6 socket) is the IPv4 address `10.0.0.1`. */
export function normaliseIp(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Why a trusted-proxy entry is unusable, or undefined when it is fine (used by option schemas). */
export function trustEntryProblem(entry: string): string | undefined {
  if (NAMED_RANGES[entry]) return undefined;
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined)
    return `"${entry}" is not an IP address, a subnet like 10.0.0.0/8, or loopback/linklocal/uniquelocal`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefix) || bits > max)
    return `"${entry}" has an invalid prefix length (0-${max})`;
  return undefined;
}

function trustedList(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries.flatMap((item) => NAMED_RANGES[item] ?? [item])) {
    const problem = trustEntryProblem(entry);
    if (problem) throw new TypeError(`trustProxy: ${problem}`);
    const [address, prefix] = entry.split('/');
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * Builds the resolver once for a trust setting. The walk starts at the TCP peer and moves left
 * through `X-Forwarded-For` only while the current hop is trusted, so a client can prepend
 * whatever it likes without being believed (the same rule as Express's `trust proxy`).
 * @example const ipOf = createClientIp(1); ipOf(req) // the address the load balancer saw
 */
export function createClientIp(trust: TrustProxy = false): ClientIpResolver {
  if (trust === false || trust === 0) return (req) => normaliseIp(req.socket.remoteAddress);
  if (typeof trust === 'number' && (!Number.isInteger(trust) || trust < 0)) {
    throw new TypeError(`trustProxy: expected a whole number of hops, got ${trust}`);
  }
  const isTrusted: (address: string, hop: number) => boolean =
    typeof trust === 'number' ? (_address, hop) => hop < trust : trustedList(trust);
  return (req) => {
    let address = normaliseIp(req.socket.remoteAddress);
    const header = req.headers['x-forwarded-for'];
    if (!header) return address;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
    for (let index = hops.length - 1, hop = 0; index >= 0; index--, hop++) {
      if (!isTrusted(address, hop)) return address;
      const previous = normaliseIp(hops[index].trim());
      // A malformed entry means the chain is broken here; the last trusted hop is the best we know.
      if (isIP(previous) === 0) return address;
      address = previous;
    }
    return address;
  };
}

/**
 * The client address of a request under `trust` (a one-off; hot paths build a resolver once with
 * `createClientIp`).
 * @example clientIp(req, ['10.0.0.0/8']) // X-Forwarded-For believed only from the private network
 */
export function clientIp(req: IncomingMessage, trust: TrustProxy = false): string {
  return createClientIp(trust)(req);
}

/**
 * The app's one answer to "who is the client, and did it come over TLS?", from its one
 * `trustProxy` setting: routing (X-Forwarded-* sent upstream), rate limits, request lines, the
 * admin guard and the security headers all ask it, so none of them can disagree.
 */
export interface ClientAddresses {
  readonly trustProxy: TrustProxy;
  /** The client's address: the TCP peer, or what trusted proxies say in X-Forwarded-For. */
  of(req: IncomingMessage): string;
  /** Whether the TCP peer is a proxy allowed to speak for the client. */
  peerTrusted(req: IncomingMessage): boolean;
  /** Whether the client reached us over TLS: on this socket, or per a trusted proxy's X-Forwarded-Proto. */
  secure(req: IncomingMessage): boolean;
  /** Express's `trust proxy` as a function of the same setting (so `req.ip` and `req.secure` agree). */
  expressTrust(address: string, hop: number): boolean;
}

export function createClientAddresses(trust: TrustProxy = false): ClientAddresses {
  const of = createClientIp(trust);
  const isTrusted: (address: string, hop: number) => boolean =
    trust === false || trust === 0
      ? () => false
      : typeof trust === 'number'
        ? (_address, hop) => hop < trust
        : trustedList(trust);
  const peerTrusted = (req: IncomingMessage) => isTrusted(normaliseIp(req.socket.remoteAddress), 0);
  return {
    trustProxy: trust,
    of,
    peerTrusted,
    secure(req) {
      if ((req.socket as { encrypted?: boolean }).encrypted) return true;
      const proto = req.headers['x-forwarded-proto'];
      if (typeof proto !== 'string' || !peerTrusted(req)) return false;
      // The first value, as Express reads it.
      const comma = proto.indexOf(',');
      return (comma === -1 ? proto : proto.slice(0, comma)).trim().toLowerCase() === 'https';
    },
    expressTrust: (address, hop) => isTrusted(normaliseIp(address), hop),
  };
}

/**
 * Reads a `trustProxy` setting as configuration gives it: `false`, a hop count, a list, or the
 * text of `TRUST_PROXY` ("1", "10.0.0.0/8,loopback"). A blanket `true` is refused: it would let
 * any client choose its own address.
 */
export function trustProxyProblem(value: unknown): string | undefined {
  if (value === true)
    return 'true would believe any client about its own address: give the number of proxies in front of the app (1) or their addresses (10.0.0.0/8, loopback)';
  if (value === false) return undefined;
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= 0 && value <= 100
      ? undefined
      : `a whole number of proxy hops from 0 to 100 (got ${value})`;
  if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((entry) => typeof entry === 'string')
  ) {
    const problems = value.map((entry) => trustEntryProblem(entry as string)).filter(Boolean);
    return problems.length > 0 ? problems.join('; ') : undefined;
  }
  return 'false, a number of proxy hops, or a list of trusted proxy addresses/subnets';
}

/** `TRUST_PROXY` text (or a value as given) as a setting; `trustProxyProblem` says what is wrong with it. */
export function parseTrustProxy(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text === 'false' || text === '') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** What a plugin-level trust option (from before the app had one) now says at start-up. */
export const MOVED_TRUST_PROXY =
  'moved to createApp({ trustProxy }) (or TRUST_PROXY): one setting for routing, rate limits, logs and guards';
