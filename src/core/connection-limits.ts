import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';

/** Refused connections are logged at most this often, with how many were refused since. */
const WARNING_INTERVAL = 10_000;

/**
 * Open connections per client address, so one client cannot hold every socket the server has.
 * IPv6 clients are counted per /64, the block one subscriber usually gets: otherwise a single
 * client could open each connection from another of its addresses.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();
  private readonly warn: (remoteAddress: string) => void;

  constructor(
    private readonly limit: number,
    logger: Logger,
  ) {
    this.warn = throttledWarning((refused, remoteAddress) =>
      logger.warn(
        { remoteAddress, refused, maxConnectionsPerAddress: limit },
        'connections refused: too many open from one address (server.maxConnectionsPerAddress)',
      ),
    );
  }

  /** Counts a new connection; undefined when its address is at the limit (the caller closes it). */
  admit(remoteAddress: string | undefined): string | undefined {
    const key = addressKey(remoteAddress ?? '');
    const count = this.open.get(key) ?? 0;
    if (count >= this.limit) {
      this.warn(remoteAddress ?? '');
      return undefined;
    }
    this.open.set(key, count + 1);
    return key;
  }

  /** The connection admitted under `key` has closed. */
  release(key: string): void {
    const count = this.open.get(key) ?? 0;
    if (count <= 1) this.open.delete(key);
    else this.open.set(key, count - 1);
  }
}

/** Logs through `write` at most once per interval, passing how many events it stood for. */
export function throttledWarning(
  write: (count: number, detail: string) => void,
): (detail: string) => void {
  let last = 0;
  let count = 0;
  return (detail) => {
    count++;
    const now = Date.now();
    if (now - last < WARNING_INTERVAL) return;
    last = now;
    write(count, detail);
    count = 0;
  };
}

/** The address a connection is counted under: IPv4 as it is, IPv6 by its /64 prefix. */
export function addressKey(address: string): string {
  if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) return address.slice(7);
  if (!address.includes(':')) return address;
  const zone = address.indexOf('%');
  const plain = zone === -1 ? address : address.slice(0, zone);
  const [head, tail] = plain.split('::');
  const groups = head ? head.split(':') : [];
  if (tail !== undefined) {
    const after = tail ? tail.split(':') : [];
    // An embedded IPv4 address at the end stands for two groups.
    const width = after.length + (after.at(-1)?.includes('.') ? 1 : 0);
    for (let index = groups.length + width; index < 8; index++) groups.push('0');
    groups.push(...after);
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
