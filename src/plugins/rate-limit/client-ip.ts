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
  if (family === 0 || extra !== undefined) return `"${entry}" is not an IP address, a subnet like 10.0.0.0/8, or loopback/linklocal/uniquelocal`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefix) || bits > max) return `"${entry}" has an invalid prefix length (0-${max})`;
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

// Resolvers for list settings are memoised by the caller's array, so a shared helper stays cheap
// on a hot path; the map holds nothing once the caller's options are gone.
const resolvers = new WeakMap<readonly string[], ClientIpResolver>();

/**
 * The client address of a request under `trust`; the routing plugin and the rate limiter use it
 * so both agree on who the client is.
 * @example clientIp(req, ['10.0.0.0/8']) // X-Forwarded-For believed only from the private network
 */
export function clientIp(req: IncomingMessage, trust: TrustProxy = false): string {
  if (typeof trust !== 'object') return createClientIp(trust)(req);
  let resolver = resolvers.get(trust);
  if (!resolver) resolvers.set(trust, (resolver = createClientIp(trust)));
  return resolver(req);
}
