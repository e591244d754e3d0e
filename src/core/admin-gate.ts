import type { Request, RequestHandler } from 'express';
import type { AdminGuard, SessionEndReason } from './context.js';
import { HttpError } from './errors.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** A direct caller on this machine: loopback peer, and no proxy in between. */
export function isDirectLocalRequest(req: Request): boolean {
  const address = req.socket.remoteAddress ?? '';
  return LOOPBACK.test(address) && req.headers['x-forwarded-for'] === undefined && req.headers.forwarded === undefined;
}

/**
 * What stands before every `admin` route. With a guard installed, the guard decides. Without
 * one, only direct local callers pass: a request that came through a proxy (it carries
 * X-Forwarded-For) or from another host is refused, so a service behind a gateway never exposes
 * its management routes through the proxy.
 */
export function createAdminGate(currentGuard: () => AdminGuard | undefined): RequestHandler {
  return (req, res, next) => {
    const guard = currentGuard();
    if (guard) return guard.middleware(req, res, next);
    if (isDirectLocalRequest(req)) return next();
    next(new HttpError(401, 'ADMIN_GUARD_REQUIRED', 'Management endpoints need the control panel guard (or a direct local connection).'));
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
export function onSessionEnd(req: Request, listener: (reason: SessionEndReason) => void): () => void {
  return req.context.adminGuard()?.onSessionEnd?.(req, listener) ?? keepListening;
}
