import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import {
  clearCookie,
  cookieSpec,
  deriveKey,
  LOGIN_COOKIE,
  openSync,
  randomToken,
  readCookie,
  sealSync,
  setCookie,
  type CookieSpec,
} from './session-cookie.js';
import type { AuthStore } from './session-store.js';

/** A login lasts this long between the redirect to the OP and the return. */
export const LOGIN_TRANSACTION_TTL = 10 * 60_000;

/** Where the openid-client strategy keeps its `state`, `nonce` and PKCE verifier in `req.session`. */
export const STRATEGY_KEY = 'oidc';

const LABEL = 'qwickapps login transaction v1';

/** One login in flight, in an encrypted cookie: no server state before the user signs in. */
export interface LoginTransaction {
  /** One-time: the callback marks it used, so the same cookie never completes a second login. */
  id: string;
  expiresAt: number;
  provider: string;
  returnTo: string;
  [STRATEGY_KEY]?: Record<string, unknown>;
}

/**
 * The login-transaction cookie (SameSite=Lax: the OP sends the browser back with a cross-site
 * top-level GET; HttpOnly; 10 minutes). Its key comes from `session.secret` when there is one,
 * so a login begun on one gateway instance completes on another; otherwise from a random key of
 * this process.
 */
export class LoginTransactions {
  readonly cookie: CookieSpec;
  private readonly keys: Uint8Array[];

  constructor(
    secrets: readonly string[],
    secure: boolean,
    private readonly store: AuthStore,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.cookie = cookieSpec(LOGIN_COOKIE, secure, logger);
    this.keys = secrets.map((value) => deriveKey(value, 'login transaction v1'));
    if (this.keys.length === 0) {
      this.keys.push(new Uint8Array(randomBytes(32)));
      if (store.shared)
        logger.warn(
          'auth session.secret is not set: a login begun on one instance cannot finish on another',
        );
    }
  }

  /**
   * `req.session` for the strategy's authorization request: when the strategy stores its
   * transaction there, the cookie is sealed and set at once, before the strategy redirects.
   */
  begin(res: ServerResponse, provider: string, returnTo: string): Record<string, unknown> {
    const base: LoginTransaction = {
      id: randomToken(),
      expiresAt: this.now() + LOGIN_TRANSACTION_TTL,
      provider,
      returnTo,
    };
    return new Proxy<Record<string, unknown>>(
      {},
      {
        set: (target, property, value: Record<string, unknown>) => {
          target[property as string] = value;
          if (property === STRATEGY_KEY) {
            const sealed = sealSync(this.keys[0], LABEL, { ...base, [STRATEGY_KEY]: value });
            setCookie(res, this.cookie, sealed, LOGIN_TRANSACTION_TTL);
          }
          return true;
        },
      },
    );
  }

  /**
   * The transaction the callback completes: refused unless this browser's cookie holds one that
   * is unexpired and not used before. It is marked used before the code is redeemed.
   */
  async complete(req: IncomingMessage, res: ServerResponse): Promise<LoginTransaction> {
    const value = readCookie(req, this.cookie.name);
    clearCookie(res, this.cookie);
    const transaction =
      value === undefined ? undefined : openSync<LoginTransaction>(this.keys, LABEL, value);
    const refuse = (why: string) =>
      new HttpError(
        400,
        'AUTH_LOGIN_STATE_INVALID',
        `This login cannot complete: ${why}. Sign in again.`,
      );
    if (!transaction?.[STRATEGY_KEY]) throw refuse('no login was started in this browser');
    if (transaction.expiresAt <= this.now()) throw refuse('the login took too long');
    const used = `t:${transaction.id}`;
    if (await this.store.get(used)) throw refuse('this login was already completed');
    await this.store.set(used, true, LOGIN_TRANSACTION_TTL);
    return transaction;
  }
}

/**
 * Where to send the browser after login: a path of the public origin only. Anything else
 * (`//evil.example`, `/\evil.example`, `/..//evil.example`, an absolute URL elsewhere, control
 * characters) falls back to `/`, so the login route is never an open redirect.
 */
export function safeReturnTo(value: unknown, publicUrl: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2_048) return '/';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return '/';
  let url: URL;
  try {
    url = new URL(value, publicUrl);
  } catch {
    return '/';
  }
  if (url.origin !== new URL(publicUrl).origin) return '/';
  const path = url.pathname + url.search + url.hash;
  if (path.startsWith('//') || path.includes('\\')) return '/';
  return path;
}
