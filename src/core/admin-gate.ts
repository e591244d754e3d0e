import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AdminGuard, SessionEndReason } from './context.js';
import { HttpError } from './errors.js';
import { crossSiteReason, isLocalHost } from './origin-check.js';
import { qualifyPermission } from './permission.js';
import type { RoutePermission } from './plugin.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How management routes answer when no guard is installed (the app's `management` option). */
export interface ManagementSettings {
  /** When set, the only credential admin routes take: `Authorization: Bearer <token>`. */
  token?: string;
  /** Host names besides the loopback ones that direct local callers may name. */
  allowedHosts: readonly string[];
}

/**
 * Headers a reverse proxy adds. A proxy on this machine is a loopback peer too; any one of them
 * says the request came through it (nginx, for one, may send X-Real-IP and no X-Forwarded-For).
 */
const PROXY_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'via',
] as const;

/** A direct caller on this machine: loopback peer, and no proxy in between. */
export function isDirectLocalRequest(req: Request): boolean {
  const address = req.socket.remoteAddress ?? '';
  return LOOPBACK.test(address) && PROXY_HEADERS.every((name) => req.headers[name] === undefined);
}

/**
 * Compares a presented token with the configured one in constant time whatever their lengths:
 * both are reduced to HMAC digests of equal size under a per-process key first.
 */
function tokenVerifier(token: string): (given: string) => boolean {
  const key = randomBytes(32);
  const digest = (value: string) => createHmac('sha256', key).update(value).digest();
  const expected = digest(token);
  return (given) => timingSafeEqual(digest(given), expected);
}

function bearerOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  return header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
}

/**
 * Why a direct local request may not use management routes, or undefined when it may. A loopback
 * peer is not enough: a page in a browser on this machine reaches loopback ports too, through
 * DNS rebinding (its requests then name the attacker's host) or as a blind cross-site form post.
 */
function localRefusal(req: Request, settings: ManagementSettings): HttpError | undefined {
  if (!isLocalHost(req.headers.host, settings.allowedHosts)) {
    return new HttpError(
      403,
      'ADMIN_HOST_REFUSED',
      'Management endpoints answer only requests addressed to this machine (localhost, 127.0.0.1, [::1]) or an allowed host.',
    );
  }
  const reason = SAFE_METHODS.has(req.method) ? undefined : crossSiteReason(req);
  if (reason)
    return new HttpError(
      403,
      'ADMIN_CROSS_SITE',
      `Management endpoints refuse state-changing calls from another site's page (${reason}).`,
    );
  return undefined;
}

/** The gate of each `admin` route, built for the permission the route declares. */
export interface AdminGate {
  /** Before the route's body is read: admins, or (with a guard that knows permissions) holders. */
  before(permission?: RoutePermission): RequestHandler;
  /**
   * After the body is read, for a route whose permission is qualified by the request: the
   * caller must hold the qualified permission (`traffic:deploy:api`). Undefined for other routes.
   */
  after(permission?: RoutePermission): RequestHandler | undefined;
}

/**
 * What stands before every `admin` route; every answer behind it is `Cache-Control: no-store`.
 * With a guard installed, the guard decides. Without one but with a management token, only
 * `Authorization: Bearer <token>` passes (a bearer token is no ambient credential a browser page
 * could borrow, so it needs no Host or Origin check). Without either, only direct local callers
 * pass: a request that came through a proxy (it carries X-Forwarded-For) or from another host is
 * refused, so a service behind a gateway never exposes its management routes through the proxy;
 * one that names a foreign Host, or a state-changing call from a browser page of another origin,
 * is refused too.
 *
 * A route's permission (`RouteDefinition.permission`) is checked in two steps when it depends on
 * the request. Before the body is read the guard lets in admins and callers holding the
 * permission or a part of it (`traffic:deploy:api` of `traffic:deploy`), so a caller with
 * nothing of it is refused before its upload is buffered. Once the body is read (`after`), the
 * qualifier names what the call acts on and the caller must hold that exact part. The second
 * step is mounted by the core on every such route, so no handler can forget it. The management
 * token and direct local callers are the operator: they pass both steps, as admins do.
 */
export function createAdminGate(
  currentGuard: () => AdminGuard | undefined,
  settings: ManagementSettings,
  logger: Logger,
): AdminGate {
  const verify = settings.token === undefined ? undefined : tokenVerifier(settings.token);
  const gate =
    (guarded: (guard: AdminGuard) => RequestHandler): RequestHandler =>
    (req, res, next) => {
      // Set before anything answers, so refusals, errors and a guard's own answers carry it too:
      // what a guarded route says is for this caller only, never for a shared or browser cache.
      res.setHeader('cache-control', 'no-store');
      const guard = currentGuard();
      if (guard) return guarded(guard)(req, res, next);
      if (verify) {
        const given = bearerOf(req);
        if (given !== undefined && verify(given)) return next();
        if (given !== undefined)
          logger.warn(
            { requestId: req.id, client: req.socket.remoteAddress, url: req.originalUrl },
            'management token refused',
          );
        res.setHeader('www-authenticate', 'Bearer realm="management"');
        return next(
          given === undefined
            ? new HttpError(
                401,
                'ADMIN_TOKEN_REQUIRED',
                'Management endpoints need Authorization: Bearer <MANAGEMENT_TOKEN>.',
              )
            : new HttpError(401, 'ADMIN_TOKEN_INVALID', 'The management token is wrong.'),
        );
      }
      if (!isDirectLocalRequest(req)) {
        return next(
          new HttpError(
            401,
            'ADMIN_GUARD_REQUIRED',
            'Management endpoints need the control panel guard (or a direct local connection).',
          ),
        );
      }
      next(localRefusal(req, settings));
    };
  const adminOnly = gate((guard) => guard.middleware);
  return {
    before(permission) {
      if (permission === undefined) return adminOnly;
      const name = typeof permission === 'string' ? permission : permission.permission;
      const partly = typeof permission !== 'string';
      // Built once per route and guard: the guard is installed during onInit, read per request.
      let built: { guard: AdminGuard; handler: RequestHandler } | undefined;
      return gate((guard) => {
        if (built?.guard !== guard)
          built = { guard, handler: guard.permitting?.(name, partly) ?? guard.middleware };
        return built.handler;
      });
    },
    after(permission) {
      if (permission === undefined || typeof permission === 'string') return undefined;
      return (req, res, next) => {
        const guard = currentGuard();
        // Let in as the operator (token, local call) or by a guard that admits admins only.
        if (guard?.permitting === undefined) return next();
        let qualifier: string | undefined;
        try {
          qualifier = permission.qualifier(req);
        } catch {
          qualifier = undefined;
        }
        guard.permitting(qualifyPermission(permission.permission, qualifier))(req, res, next);
      };
    },
  };
}

const keepListening = () => undefined;

/**
 * Ties a long-lived response to the session it was opened with: `listener` runs once when that
 * session ends (logout, expiry, revocation), and the response should end then. Returns the
 * function that removes the listener; call it when the response closes first. Without a guard,
 * or for a request the guard let in without a session, nothing can end and it returns a no-op.
 * @example const stopWatching = onSessionEnd(req, () => res.end()); res.once('close', stopWatching);
 */
export function onSessionEnd(
  req: Request,
  listener: (reason: SessionEndReason) => void,
): () => void {
  return req.context.adminGuard()?.onSessionEnd?.(req, listener) ?? keepListening;
}
