import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AdminGuard, SessionEndReason } from './context.js';
import { HttpError } from './errors.js';
import { crossSiteReason, isLocalHost } from './origin-check.js';

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

/**
 * What stands before every `admin` route; every answer behind it is `Cache-Control: no-store`.
 * With a guard installed, the guard decides. Without one but with a management token, only
 * `Authorization: Bearer <token>` passes (a bearer token is no ambient credential a browser page
 * could borrow, so it needs no Host or Origin check). Without either, only direct local callers
 * pass: a request that came through a proxy (it carries X-Forwarded-For) or from another host is
 * refused, so a service behind a gateway never exposes its management routes through the proxy;
 * one that names a foreign Host, or a state-changing call from a browser page of another origin,
 * is refused too.
 */
export function createAdminGate(
  currentGuard: () => AdminGuard | undefined,
  settings: ManagementSettings,
  logger: Logger,
): RequestHandler {
  const verify = settings.token === undefined ? undefined : tokenVerifier(settings.token);
  return (req, res, next) => {
    // Set before anything answers, so refusals, errors and a guard's own answers carry it too:
    // what a guarded route says is for this caller only, never for a shared or browser cache.
    res.setHeader('cache-control', 'no-store');
    const guard = currentGuard();
    if (guard) return guard.middleware(req, res, next);
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
