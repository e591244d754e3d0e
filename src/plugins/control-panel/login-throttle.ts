import type { Request, Response } from 'express';
import type { Logger } from '../../core/logger.js';
import { HttpError } from '../../core/errors.js';
import type { GuardCookie } from './cookies.js';
import { TrustedDevices } from './devices.js';
import { AccountDelay, LoginLimiter, type AccountDelaySettings } from './login-limit.js';

export function clientOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export interface LoginThrottleOptions {
  /** The account every attempt counts against, whatever user name it gives (see `attempt`). */
  account: string;
  perAddress: { max: number; windowMs: number };
  perAccount: AccountDelaySettings;
  /** Milliseconds a browser that logged in stays exempt from the account delay; 0 exempts none. */
  trustedDeviceTtl: number;
  deviceCookie: GuardCookie;
  secret?: string;
  now?: () => number;
  logger: () => Logger | undefined;
}

/**
 * Everything that slows password guessing at the built-in guard: failed attempts per client
 * address (a fixed window, then 429), and per account a delay that grows with failures from
 * any address, which browsers that logged in before skip (TrustedDevices).
 */
export class LoginThrottle {
  private readonly perAddress: LoginLimiter;
  private readonly perAccount: AccountDelay;
  private readonly devices: TrustedDevices;

  constructor(private readonly options: LoginThrottleOptions) {
    this.perAddress = new LoginLimiter({ ...options.perAddress, now: options.now });
    this.perAccount = new AccountDelay({ ...options.perAccount, now: options.now });
    this.devices = new TrustedDevices({
      secret: options.secret,
      ttl: options.trustedDeviceTtl,
      maxFailures: Math.max(1, options.perAccount.freeFailures),
      now: options.now,
    });
  }

  /** Throws 429 (with Retry-After) when this client, or the account for a stranger, must wait. */
  refuse(req: Request, res: Response): void {
    const addressWait = this.perAddress.retryAfter(clientOf(req));
    if (addressWait > 0)
      refuse(
        res,
        addressWait,
        'CPANEL_LOGIN_RATE_LIMITED',
        `Too many failed logins; try again in ${addressWait} s.`,
      );
    if (this.trustedDevice(req)) return;
    const accountWait = Math.ceil(this.perAccount.wait(this.options.account) / 1000);
    if (accountWait > 0)
      refuse(
        res,
        accountWait,
        'CPANEL_LOGIN_DELAYED',
        `Too many failed logins for this account; try again in ${accountWait} s.`,
      );
  }

  /**
   * Runs `verify` if no limit refuses the attempt. The attempt is counted as failed before
   * verifying and forgiven on success: a scrypt hash is verified off the event loop, so attempts
   * sent in parallel would otherwise all pass the check before the first failure is counted.
   * Every failure counts against the one account, whatever user name it gave, so the delay does
   * not tell a right user name from a wrong one.
   */
  async attempt(req: Request, res: Response, verify: () => Promise<boolean>): Promise<boolean> {
    this.refuse(req, res);
    const client = clientOf(req);
    const device = this.trustedDevice(req);
    this.perAddress.fail(client);
    // A trusted device's failures count against that device only, so the owner's typos never delay anyone.
    const delay = device ? 0 : this.perAccount.fail(this.options.account);
    if (device) this.devices.fail(device);
    if (!(await verify())) {
      if (delay > 0)
        this.options
          .logger()
          ?.warn(
            { account: this.options.account, client, delayMs: delay },
            'control panel logins for the account delayed after repeated failures',
          );
      return false;
    }
    this.perAddress.succeed(client);
    this.perAccount.succeed(this.options.account);
    if (device) this.devices.succeed(device);
    return true;
  }

  /** After a login: this browser may skip the account delay from now on. */
  trustDevice(req: Request, res: Response): void {
    if (!this.devices.enabled) return;
    this.options.deviceCookie.set(
      req,
      res,
      this.devices.issue(this.options.account),
      Math.floor(this.options.trustedDeviceTtl / 1000),
    );
  }

  private trustedDevice(req: Request): string | undefined {
    return this.devices.trusted(this.options.deviceCookie.values(req), this.options.account);
  }
}

function refuse(res: Response, seconds: number, code: string, message: string): never {
  res.setHeader('retry-after', String(seconds));
  throw new HttpError(429, code, message, { details: { retryAfter: seconds } });
}
