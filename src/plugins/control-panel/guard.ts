import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { AdminGuard, PluginContext } from '../../core/context.js';
import { HttpError } from '../../core/errors.js';
import { crossSiteReason } from '../../core/origin-check.js';
import { holdsPartOf, holdsPermission } from '../../core/permission.js';
import { GuardCookie } from './cookies.js';
import { DEFAULT_TRUSTED_DEVICE_TTL } from './devices.js';
import { DEFAULT_ACCOUNT_DELAY, type AccountDelaySettings } from './login-limit.js';
import { LoginThrottle, clientOf } from './login-throttle.js';
import {
  createConstantTimeComparer,
  generateOneTimePassword,
  isWeakerThanDefault,
  verifyPasswordHash,
} from './password.js';
import type { RedisSessionConfig, SharedSessions } from './redis-sessions.js';
import { SessionStore, sessionInfo, type PanelSession, type SessionInfo } from './sessions.js';

export type { SessionInfo };

/** Who a guarded request belongs to, as the panel shows it. */
export interface GuardSession {
  user: string;
  /** The session's public id, as `sessions()` lists it (not the secret its cookie carries). */
  id?: string;
  /** The token the UI sends as `x-csrf-token` on state-changing calls. */
  csrfToken?: string;
  expiresAt?: string;
}

/**
 * What the panel needs from a guard. The built-in one checks a password; an auth plugin
 * (Auth0, Supabase, JWT) provides its own and the panel uses it unchanged.
 */
export interface ControlPanelGuard extends AdminGuard {
  /** Answers `POST <mount>/api/login` with `{ user, password }`; absent when login happens elsewhere. */
  login?: RequestHandler;
  /** Answers `POST <mount>/api/logout` (already through `middleware`). */
  logout?: RequestHandler;
  /** Where the UI sends the browser to log in when there is no `login` handler. */
  loginUrl?: string;
  /** The session of a request that passed `middleware`. */
  session(req: Request): GuardSession | undefined;
  /** Called from the panel's onInit. */
  init?(context: PluginContext<unknown>): void | Promise<void>;
  /** The live sessions of `user`, oldest first. */
  sessions?(user: string): SessionInfo[] | Promise<SessionInfo[]>;
  /**
   * Ends every session of `user` except the one whose id is `keep`: each is refused from then
   * on and what was opened with it (log streams) closes. Returns how many ended.
   */
  revokeSessions?(user: string, options?: { keep?: string }): number | Promise<number>;
  /** Called when the panel stops (a connection to close). */
  close?(): Promise<void>;
}

export interface PasswordGuardOptions {
  user: string;
  password?: string;
  passwordHash?: string;
  sessionSecret?: string;
  sessionTtl: number;
  maxSessions: number;
  /** Failed logins per client address within a window, then 429. */
  loginRateLimit: { max: number; windowMs: number };
  /** Per account, from any address: a wait that doubles with each failure beyond `freeFailures`. Defaults in DEFAULT_ACCOUNT_DELAY. */
  accountLoginDelay?: Partial<AccountDelaySettings>;
  /** Milliseconds a browser that logged in skips the account delay (its device cookie); 0 for never. Default 30 days. */
  trustedDeviceTtl?: number;
  /** Name of the session cookie, `__Host-` prefixed over HTTPS. Default `cpanel_session`. */
  cookieName?: string;
  /** Name of the trusted-device cookie, `__Host-` prefixed over HTTPS. Default `cpanel_device`. */
  deviceCookieName?: string;
  /** `memory` (per process), or Redis shared by every gateway (`REDIS_URL`). Default memory. */
  sessionStore?: 'memory' | RedisSessionConfig;
  now?: () => number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A caller an authenticate hook identified (an API key, a bearer token, a user session), as the
 * auth plugin sets `req.user`; read by shape, so the panel never loads that plugin's code.
 */
interface IdentifiedCaller {
  id: string;
  roles: readonly string[];
  permissions: readonly string[];
  sessionId?: string;
}

/** The roles plugin's service when registered (by shape, as the auth plugin reads it). */
interface PermissionChecker {
  can(user: IdentifiedCaller, permission: string): boolean;
  canPartly(user: IdentifiedCaller, permission: string): boolean;
}

function identifiedCaller(req: Request): IdentifiedCaller | undefined {
  const user = (req as { user?: Partial<IdentifiedCaller> }).user;
  return typeof user?.id === 'string' &&
    Array.isArray(user.permissions) &&
    Array.isArray(user.roles)
    ? (user as IdentifiedCaller)
    : undefined;
}
const loginBody = z.object({ user: z.string().max(256), password: z.string().max(1024) });

function basicCredentials(req: Request): { user: string; password: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0
    ? undefined
    : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The built-in guard: one user and a password (or its scrypt hash), a signed session cookie,
 * CSRF tokens bound to the session, failed logins limited per client address, and a growing
 * delay per account that browsers which logged in before skip.
 * @example createControlPanelPlugin({ guard: createPasswordGuard({ user: 'ops', password, sessionTtl: 3_600_000, maxSessions: 100, loginRateLimit: { max: 5, windowMs: 60_000 } }) })
 */
export function createPasswordGuard(options: PasswordGuardOptions): ControlPanelGuard {
  const cookie = new GuardCookie(options.cookieName ?? 'cpanel_session');
  let logger: PluginContext<unknown>['logger'] | undefined;
  const makeSessions = (shared?: SharedSessions) =>
    new SessionStore({
      secret: options.sessionSecret,
      ttl: options.sessionTtl,
      maxSessions: options.maxSessions,
      now: options.now,
      shared,
      onListenerError: (error) =>
        logger?.error({ err: error }, 'a control panel session-end listener failed'),
    });
  let sessions = makeSessions();
  let shared: SharedSessions | undefined;
  const deviceCookie = new GuardCookie(options.deviceCookieName ?? 'cpanel_device');
  const trustedDeviceTtl = options.trustedDeviceTtl ?? DEFAULT_TRUSTED_DEVICE_TTL;
  const throttle = new LoginThrottle({
    account: options.user,
    perAddress: options.loginRateLimit,
    perAccount: { ...DEFAULT_ACCOUNT_DELAY, ...options.accountLoginDelay },
    trustedDeviceTtl,
    deviceCookie,
    secret: options.sessionSecret,
    now: options.now,
    logger: () => logger,
  });
  const same = createConstantTimeComparer();
  const attached = new WeakMap<Request, GuardSession>();
  /** The session id a request was let in with (absent for Basic credentials, which have none). */
  const sessionIds = new WeakMap<Request, string>();
  let password = options.password;
  let roles: () => PermissionChecker | undefined = () => undefined;

  const verify = async (user: string, given: string): Promise<boolean> => {
    const userMatches = same(user, options.user);
    const passwordMatches = options.passwordHash
      ? await verifyPasswordHash(given, options.passwordHash)
      : same(given, password ?? '');
    return (
      userMatches &&
      passwordMatches &&
      (options.passwordHash !== undefined || password !== undefined)
    );
  };

  const refuseIfLimited = (req: Request, res: Response): void => throttle.refuse(req, res);
  const attempt = (req: Request, res: Response, user: string, given: string): Promise<boolean> =>
    throttle.attempt(req, res, () => verify(user, given));

  /** The live sessions the request's cookies name: usually one, two when both cookie names hold one. */
  const sessionsOf = async (req: Request): Promise<PanelSession[]> =>
    (await Promise.all(cookie.values(req).map((value) => sessions.find(value)))).filter(
      (session): session is PanelSession => session !== undefined,
    );

  const toGuardSession = (session: PanelSession): GuardSession => ({
    user: session.user,
    id: session.handle,
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAt).toISOString(),
  });

  const middleware: RequestHandler = async (req, res, next) => {
    try {
      const [session] = await sessionsOf(req);
      if (session) {
        if (!SAFE_METHODS.has(req.method)) {
          // The token alone would let a page elsewhere that obtained it act with the cookie.
          const crossSite = crossSiteReason(req);
          if (crossSite)
            throw new HttpError(
              403,
              'CPANEL_CROSS_SITE',
              `State-changing calls must come from the control panel's own page (${crossSite}).`,
            );
          const token = req.headers['x-csrf-token'];
          if (typeof token !== 'string' || !same(token, session.csrfToken)) {
            throw new HttpError(
              403,
              'CPANEL_CSRF_INVALID',
              'Missing or wrong x-csrf-token header; reload the control panel.',
            );
          }
        }
        attached.set(req, toGuardSession(session));
        sessionIds.set(req, session.id);
        return next();
      }
      // Basic credentials serve scripts (curl). Browsers never hold them as ambient credentials
      // because the guard never sends a Basic challenge, so they need no CSRF token.
      const basic = basicCredentials(req);
      if (basic) {
        if (await attempt(req, res, basic.user, basic.password)) {
          attached.set(req, { user: basic.user });
          return next();
        }
        logger?.warn(
          { client: clientOf(req), user: basic.user },
          'control panel credentials refused',
        );
        throw new HttpError(401, 'CPANEL_CREDENTIALS_INVALID', 'Wrong user or password.');
      }
      // A non-Basic scheme keeps browsers from showing their own credentials pop-up.
      res.setHeader('www-authenticate', 'Session realm="control-panel"');
      throw new HttpError(401, 'CPANEL_UNAUTHENTICATED', 'Log in to the control panel first.');
    } catch (error) {
      next(error);
    }
  };

  /**
   * An admin route that names a permission (a CI key scoped to `traffic:deploy:api`): the
   * panel's own credentials (its session, Basic) are the admin's and go through `middleware`;
   * a caller the auth plugin identified instead (an API key, a bearer token) passes when it
   * holds the permission (`partly`: a part of it) or `admin:*`, through the roles plugin when
   * registered, else by its own permissions; otherwise 403 naming the permission.
   */
  const permitting =
    (permission: string, partly = false): RequestHandler =>
    (req, res, next) => {
      const caller = identifiedCaller(req);
      if (caller === undefined || cookie.values(req).length > 0 || basicCredentials(req))
        return middleware(req, res, next);
      const checker = roles();
      const holds = (wanted: string, part: boolean) =>
        checker !== undefined
          ? part
            ? checker.canPartly(caller, wanted)
            : checker.can(caller, wanted)
          : part
            ? holdsPartOf(caller.permissions, wanted)
            : holdsPermission(caller.permissions, wanted);
      if (!holds('admin:*', false) && !holds(permission, partly))
        return next(
          new HttpError(
            403,
            'CPANEL_PERMISSION_MISSING',
            `This needs the permission ${permission}${partly ? ` (or its part for what the call acts on, ${permission}:<name>)` : ''}, or the control panel's credentials.`,
            { details: { missing: permission } },
          ),
        );
      // A user session's cookie is ambient: its state-changing calls must come from this origin.
      const crossSite =
        caller.sessionId !== undefined && !SAFE_METHODS.has(req.method)
          ? crossSiteReason(req)
          : undefined;
      if (crossSite)
        return next(
          new HttpError(
            403,
            'CPANEL_CROSS_SITE',
            `A signed-in session refuses state-changing calls from another site's page (${crossSite}).`,
          ),
        );
      attached.set(req, { user: caller.id });
      next();
    };

  const login: RequestHandler = async (req, res, next) => {
    try {
      // A page elsewhere must not log the browser in (login CSRF) nor use it to try passwords.
      const crossSite = crossSiteReason(req);
      if (crossSite)
        throw new HttpError(
          403,
          'CPANEL_CROSS_SITE',
          `Log in from the control panel's own page (${crossSite}).`,
        );
      refuseIfLimited(req, res);
      const parsed = loginBody.safeParse(req.body);
      if (!parsed.success)
        throw new HttpError(
          400,
          'CPANEL_LOGIN_INVALID',
          'Send JSON { "user": string, "password": string }.',
        );
      const client = clientOf(req);
      if (!(await attempt(req, res, parsed.data.user, parsed.data.password))) {
        logger?.warn({ client, user: parsed.data.user }, 'control panel login failed');
        throw new HttpError(401, 'CPANEL_LOGIN_FAILED', 'Wrong user or password.');
      }
      const session = await sessions.open(options.user, {
        client,
        userAgent: req.headers['user-agent'],
      });
      cookie.set(req, res, sessions.cookieValue(session), Math.floor(options.sessionTtl / 1000));
      throttle.trustDevice(req, res);
      logger?.info({ client, user: session.user }, 'control panel login');
      res.setHeader('cache-control', 'no-store');
      res.json(toGuardSession(session));
    } catch (error) {
      next(error);
    }
  };

  const logout: RequestHandler = async (req, res, next) => {
    try {
      for (const session of await sessionsOf(req)) await sessions.close(session, 'logout');
      cookie.clear(req, res);
      res.status(204).end();
    } catch (error) {
      next(error);
    }
  };

  return {
    name: 'control-panel-password',
    middleware,
    permitting,
    login,
    logout,
    session: (req) => attached.get(req),
    identify: (req) => attached.get(req)?.user,
    onSessionEnd(req, listener) {
      const id = sessionIds.get(req);
      return id === undefined ? () => undefined : sessions.onEnd(id, listener);
    },
    sessions: async (user) => (await sessions.list(user)).map(sessionInfo),
    async revokeSessions(user, revoke = {}) {
      const revoked = await sessions.revokeAll(user, revoke.keep);
      logger?.info(
        { user, revoked, kept: revoke.keep !== undefined },
        'control panel sessions revoked',
      );
      return revoked;
    },
    privateCookies: [...cookie.names, ...deviceCookie.names],
    async close() {
      await shared?.close();
    },
    async init(context) {
      logger = context.logger;
      if (options.sessionStore && options.sessionStore !== 'memory') {
        const { openRedisSessions } = await import('./redis-sessions.js');
        shared = await openRedisSessions(options.sessionStore, options.sessionSecret, logger);
        sessions = makeSessions(shared);
        logger.info('control panel sessions are kept in Redis, shared by every gateway');
      }
      const services = context as unknown as { tryGet(name: string): unknown };
      roles = () => services.tryGet('roles') as PermissionChecker | undefined;
      if (options.passwordHash && isWeakerThanDefault(options.passwordHash)) {
        // Still verified (the hash carries its own cost), but cheaper to guess than a new one.
        context.logger.warn(
          'ADMIN_PASSWORD_HASH was made with a lower scrypt cost than hashPassword() uses now; make a new one',
        );
      }
      if (password !== undefined || options.passwordHash !== undefined) return;
      if (process.env.NODE_ENV === 'production') {
        throw new Error(
          'ADMIN_PASSWORD is not set: the control panel refuses to start in production without a password. ' +
            'Set ADMIN_PASSWORD (or ADMIN_PASSWORD_HASH from hashPassword()), or pass `password` to createControlPanelPlugin().',
        );
      }
      password = generateOneTimePassword();
      context.logger.warn(
        { user: options.user },
        'ADMIN_PASSWORD is not set; a one-time control panel password was printed to stdout',
      );
      process.stdout.write(
        `\nControl panel one-time password (development only): user "${options.user}", password ${password}\n\n`,
      );
    },
  };
}
