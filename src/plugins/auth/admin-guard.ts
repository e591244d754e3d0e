import type { Request, RequestHandler } from 'express';
import type { AdminGuard } from '../../core/context.js';
import { HttpError } from '../../core/errors.js';
import { crossSiteReason } from '../../core/origin-check.js';
import { holdsPartOf, holdsPermission } from '../../core/permission.js';
import { refusalError, refusalOf } from './express.js';
import type { Sessions } from './sessions.js';
import type { AuthUser } from './types.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthAdminGuardOptions {
  /** Users holding one of these roles may enter (or the permission `admin:*`). */
  adminRoles: readonly string[];
  /** The login route (`routes.login`), where an anonymous browser is sent. */
  loginPath: string;
  sessions: Sessions;
  /** The roles plugin's service when registered (by shape: this plugin never loads its code). */
  roles?: () => PermissionChecker | undefined;
}

/**
 * What the admin guard asks of the roles plugin's service (`ctx.tryGet('roles')`): with it,
 * roles, inheritance and assignments count toward a route's permission.
 */
export interface PermissionChecker {
  can(user: AuthUser, permission: string): boolean;
  /** Whether the user holds `permission` or some part beneath it (`traffic:deploy:api`). */
  canPartly(user: AuthUser, permission: string): boolean;
}

/**
 * Whether `user` holds `permission` (`partly`: or a part of it) by the one rule of
 * `core/permission.ts`: through the roles plugin when registered, else its own permissions.
 */
function holds(
  user: AuthUser,
  permission: string,
  partly: boolean,
  roles: PermissionChecker | undefined,
): boolean {
  if (roles !== undefined)
    return partly ? roles.canPartly(user, permission) : roles.can(user, permission);
  return partly
    ? holdsPartOf(user.permissions, permission)
    : holdsPermission(user.permissions, permission);
}

/** Whether `user` may use admin routes: one of the roles, or the permission `admin:*`. */
export function isAdmin(user: AuthUser, adminRoles: readonly string[]): boolean {
  return (
    user.roles.some((role) => adminRoles.includes(role)) || user.permissions.includes('admin:*')
  );
}

/**
 * The control panel's guard (and so every `admin` route's) when the auth plugin is given
 * `controlPanel: { adminRoles }`: the caller the authenticate hook identified (`req.user`, by
 * bearer token, API key or session) must hold an admin role, or the permission the route
 * declares (`permitting`). Anonymous browsers are sent to the login route, anonymous API callers
 * get 401, signed-in users without either 403. A state-changing call that rides on the session
 * cookie must come from this origin (the cookie is ambient; a bearer token is not).
 */
export function authAdminGuard(options: AuthAdminGuardOptions): AdminGuard {
  const { adminRoles, loginPath, sessions } = options;
  const roles = options.roles ?? (() => undefined);
  /** A route's check: admins pass, and so do holders of `permission` when there is one. */
  const check =
    (permission: string | undefined, partly: boolean): RequestHandler =>
    (req, res, next) => {
      const user = req.user;
      if (user === undefined) {
        if (
          (req.method === 'GET' || req.method === 'HEAD') &&
          req.accepts(['json', 'html']) === 'html'
        )
          return res.redirect(303, `${loginPath}?returnTo=${encodeURIComponent(req.originalUrl)}`);
        return next(refusalError(res, refusalOf(req)));
      }
      if (!isAdmin(user, adminRoles)) {
        if (permission === undefined)
          return next(
            new HttpError(
              403,
              'AUTH_FORBIDDEN',
              `Admin routes need one of the roles ${adminRoles.join(', ')}.`,
            ),
          );
        if (!holds(user, permission, partly, roles()))
          return next(
            new HttpError(
              403,
              'AUTH_PERMISSION_MISSING',
              partly
                ? `This needs the permission ${permission}, or its part for what the call acts on (${permission}:<name>), or an admin role.`
                : `This needs the permission ${permission} (or an admin role).`,
              { details: { missing: permission } },
            ),
          );
      }
      const reason =
        user.sessionId !== undefined && !SAFE_METHODS.has(req.method)
          ? crossSiteReason(req)
          : undefined;
      if (reason)
        return next(
          new HttpError(
            403,
            'AUTH_CROSS_SITE',
            `A signed-in session refuses state-changing calls from another site's page (${reason}).`,
          ),
        );
      next();
    };
  return {
    name: 'auth',
    middleware: check(undefined, false),
    permitting: (permission, partly = false) => check(permission, partly),
    identify: (req: Request) => req.user?.id,
    privateCookies: sessions.cookieNames,
    loginUrl: loginPath,
    // A stream opened with a session ends with it; one opened with a bearer token has none.
    onSessionEnd: (req, listener) => {
      const session = req.user?.sessionId;
      return session === undefined ? () => {} : sessions.onEnd(session, listener);
    },
    logout: async (req, res) => {
      await sessions.end(req, res);
      res.status(204).end();
    },
  };
}
