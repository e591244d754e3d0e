import type { ServerResponse } from 'node:http';
import { HttpError } from '../../core/errors.js';
import type { AuthConfig } from './options.js';
import { digest } from './session-cookie.js';
import type { AuthStore } from './session-store.js';

/**
 * Counts login attempts in fixed windows, per client address and per account, in the auth
 * store (shared between instances when the cache plugin is Redis). Read-then-write, so two
 * instances racing may each miss one attempt: a bound on guessing, not an exact meter.
 */
export class LoginLimiter {
  constructor(
    private readonly limits: AuthConfig['loginLimit'],
    private readonly store: AuthStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts an attempt from `address`; past the limit sets `Retry-After` and throws a 429. */
  address(res: ServerResponse, address: string): Promise<void> {
    return this.count(res, `la:${address}`, this.limits.perAddress, 'this address');
  }

  /** Counts an attempt for `account` (an email, lower-cased), as `address` does. */
  account(res: ServerResponse, account: string): Promise<void> {
    const name = `lc:${digest(account.trim().toLowerCase())}`;
    return this.count(res, name, this.limits.perAccount, 'this account');
  }

  private async count(
    res: ServerResponse,
    name: string,
    limit: number,
    whose: string,
  ): Promise<void> {
    const at = this.now();
    const window = Math.floor(at / this.limits.window);
    const windowEnd = (window + 1) * this.limits.window;
    const key = `${name}:${window}`;
    const used = (await this.store.get<number>(key)) ?? 0;
    if (used >= limit) {
      const retryAfter = Math.max(1, Math.ceil((windowEnd - at) / 1000));
      if (!res.headersSent) res.setHeader('retry-after', String(retryAfter));
      throw new HttpError(
        429,
        'AUTH_LOGIN_RATE_LIMITED',
        `Too many login attempts for ${whose}: try again in ${retryAfter} s.`,
        { details: { retryAfter } },
      );
    }
    await this.store.set(key, used + 1, windowEnd - at);
  }
}
