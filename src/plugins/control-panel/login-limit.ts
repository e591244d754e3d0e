/** Failed logins in a fixed window per key (a client address), or with a growing delay per account. */

/**
 * Counts failed logins per client address in a fixed window. Bounded: when `maxClients`
 * addresses are tracked, expired windows are dropped, then the oldest.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly options: {
      max: number;
      windowMs: number;
      maxClients?: number;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Seconds until the client may try again, or 0 when it may try now. */
  retryAfter(client: string): number {
    const entry = this.failures.get(client);
    if (!entry) return 0;
    const now = this.now();
    if (entry.resetAt <= now) {
      this.failures.delete(client);
      return 0;
    }
    return entry.count >= this.options.max ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  fail(client: string): void {
    const now = this.now();
    const entry = this.failures.get(client);
    if (entry && entry.resetAt > now) {
      entry.count++;
      return;
    }
    const limit = this.options.maxClients ?? 10_000;
    if (this.failures.size >= limit) {
      for (const [key, value] of this.failures) if (value.resetAt <= now) this.failures.delete(key);
      while (this.failures.size >= limit)
        this.failures.delete(this.failures.keys().next().value as string);
    }
    this.failures.set(client, { count: 1, resetAt: now + this.options.windowMs });
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}

export interface AccountDelaySettings {
  /** Failed logins for the account, from any address, before each further attempt has to wait. */
  freeFailures: number;
  /** Milliseconds of the first wait; each further failure doubles it. */
  baseDelay: number;
  /** Longest wait in milliseconds, however many failures. */
  maxDelay: number;
  /** Milliseconds without a failure after which the account's failures are forgotten. */
  forgetAfter: number;
}

export const DEFAULT_ACCOUNT_DELAY: AccountDelaySettings = {
  freeFailures: 5,
  baseDelay: 1_000,
  maxDelay: 60_000,
  forgetAfter: 15 * 60_000,
};

/**
 * Slows guessing at one account from many addresses, which a per-address limit cannot see.
 * After `freeFailures` failures each attempt waits `baseDelay * 2^(failures - freeFailures)`
 * (capped at `maxDelay`) after the last failure. A delay rather than a lock: at worst the owner
 * waits `maxDelay`, and a browser that logged in before is exempt (see TrustedDevices), so
 * failing on purpose cannot keep the owner out. Bounded by `maxAccounts` keys.
 */
export class AccountDelay {
  private readonly accounts = new Map<string, { failures: number; lastFailureAt: number }>();

  constructor(
    private readonly options: AccountDelaySettings & { maxAccounts?: number; now?: () => number },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Milliseconds a wait lasts after `failures` failures. */
  delayAfter(failures: number): number {
    const { freeFailures, baseDelay, maxDelay } = this.options;
    return failures < freeFailures
      ? 0
      : Math.min(maxDelay, baseDelay * 2 ** (failures - freeFailures));
  }

  /** Milliseconds until `account` may be tried again, or 0 when it may be tried now. */
  wait(account: string): number {
    const entry = this.live(account);
    return entry
      ? Math.max(0, entry.lastFailureAt + this.delayAfter(entry.failures) - this.now())
      : 0;
  }

  /** Counts a failure; returns the wait it imposes on the next attempt (ms). */
  fail(account: string): number {
    const now = this.now();
    const entry = this.live(account) ?? { failures: 0, lastFailureAt: now };
    entry.failures++;
    entry.lastFailureAt = now;
    if (!this.accounts.has(account)) {
      const limit = this.options.maxAccounts ?? 10_000;
      while (this.accounts.size >= limit)
        this.accounts.delete(this.accounts.keys().next().value as string);
      this.accounts.set(account, entry);
    }
    return this.delayAfter(entry.failures);
  }

  succeed(account: string): void {
    this.accounts.delete(account);
  }

  private live(account: string): { failures: number; lastFailureAt: number } | undefined {
    const entry = this.accounts.get(account);
    if (entry && this.now() - entry.lastFailureAt >= this.options.forgetAfter) {
      this.accounts.delete(account);
      return undefined;
    }
    return entry;
  }
}
