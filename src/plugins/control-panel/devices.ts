import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Thirty days; browsers cap a cookie's lifetime at 400. */
export const DEFAULT_TRUSTED_DEVICE_TTL = 30 * 86_400_000;

export interface TrustedDevicesOptions {
  /** Derives the signing key, so device cookies outlive a restart; random per process when unset. */
  secret?: string;
  /** Milliseconds a device stays trusted after a login; 0 trusts none. */
  ttl: number;
  /** Failed logins with one device cookie before it is trusted no more (until it logs in again). */
  maxFailures: number;
  /** Device cookies whose failures are tracked at most; the oldest go first. */
  maxTracked?: number;
  now?: () => number;
}

/**
 * Browsers that logged in to an account before, so the account's login delay (AccountDelay)
 * does not apply to them: someone failing on purpose from elsewhere slows only strangers, never
 * the owner's own browser (the "device cookie" defence against lockout). The cookie value is
 * `issuedAt.nonce.signature`, the signature an HMAC over the account, the time and the nonce.
 * It is no credential: a trusted device still needs the password and stays under the
 * per-address limit, and after `maxFailures` failures it loses the exemption.
 */
export class TrustedDevices {
  private readonly key: Buffer;
  private readonly failures = new Map<string, number>();

  constructor(private readonly options: TrustedDevicesOptions) {
    this.key = options.secret
      ? createHmac('sha256', options.secret).update('control-panel trusted device').digest()
      : randomBytes(32);
  }

  get enabled(): boolean {
    return this.options.ttl > 0;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** A cookie value that marks this browser as having logged in to `account`. */
  issue(account: string): string {
    const issuedAt = String(this.now());
    const nonce = randomBytes(16).toString('base64url');
    return `${issuedAt}.${nonce}.${this.sign(account, issuedAt, nonce)}`;
  }

  /** The nonce of the first value that is a valid, unexpired, not overused device cookie for `account`. */
  trusted(values: readonly string[], account: string): string | undefined {
    if (!this.enabled) return undefined;
    for (const value of values) {
      const [issuedAt, nonce, signature, extra] = value.split('.');
      if (extra !== undefined || !/^\d{1,15}$/.test(issuedAt ?? '') || !nonce || !signature)
        continue;
      const given = Buffer.from(signature);
      const expected = Buffer.from(this.sign(account, issuedAt, nonce));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) continue;
      if (Number(issuedAt) + this.options.ttl <= this.now()) continue;
      if ((this.failures.get(nonce) ?? 0) >= this.options.maxFailures) continue;
      return nonce;
    }
    return undefined;
  }

  fail(nonce: string): void {
    const count = (this.failures.get(nonce) ?? 0) + 1;
    this.failures.delete(nonce);
    const limit = this.options.maxTracked ?? 10_000;
    while (this.failures.size >= limit)
      this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(nonce, count);
  }

  /** The device logged in: it gets a new cookie, so the old nonce's count is no longer needed. */
  succeed(nonce: string): void {
    this.failures.delete(nonce);
  }

  private sign(account: string, issuedAt: string, nonce: string): string {
    return createHmac('sha256', this.key)
      .update(`${account}\n${issuedAt}\n${nonce}`)
      .digest('base64url');
  }
}
