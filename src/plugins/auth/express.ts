import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { HttpError } from '../../core/errors.js';
import type { AuthRefusal, AuthUser } from './types.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /** The auth plugin's user (passport's `Express.User`, when passport's types are loaded too). */
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends AuthUser {}
    interface Request {
      /** Set by the auth plugin's authenticate hook when the caller is known; else undefined. */
      user?: User | undefined;
    }
  }
}

/**
 * Why a request that presented a credential got no user: `requireUser` answers with that code
 * (`AUTH_TOKEN_EXPIRED`) instead of "missing". Per request, so it is gone with the request.
 */
const refusals = new WeakMap<IncomingMessage, AuthRefusal>();

export function noteRefusal(req: IncomingMessage, code: AuthRefusal): void {
  refusals.set(req, code);
}

export function refusalOf(req: IncomingMessage): AuthRefusal | undefined {
  return refusals.get(req);
}

/** What a 401 says, by refusal: the code's own words for the client, never the reason. */
export const REFUSAL_DETAIL: Record<AuthRefusal, string> = {
  AUTH_TOKEN_MISSING: 'Sign in, or send Authorization: Bearer <token>.',
  AUTH_TOKEN_INVALID: 'The token is not valid here.',
  AUTH_TOKEN_EXPIRED: 'The token has expired.',
  AUTH_TOKEN_TOO_LARGE: 'The token is too large.',
  AUTH_SESSION_EXPIRED: 'The session has ended: sign in again.',
};

/** RFC 6750's challenge: `invalid_token` when a token was presented and refused. */
export function challengeOf(code: AuthRefusal): string {
  return code === 'AUTH_TOKEN_MISSING' || code === 'AUTH_SESSION_EXPIRED'
    ? 'Bearer'
    : 'Bearer error="invalid_token"';
}

/** Sets the challenge on a 401, on Express's response or a bare one. */
export function setChallenge(res: ServerResponse, code: AuthRefusal): void {
  res.setHeader('www-authenticate', challengeOf(code));
}

/**
 * Express middleware for routes of a service (or of the gateway itself) that need a signed-in
 * caller: `req.user` is set by the auth plugin's hook before any route runs, so this only checks
 * it, and answers 401 problem+json with `WWW-Authenticate: Bearer` otherwise.
 * @example app.get('/api/me', requireUser(), (req, res) => res.json({ id: req.user!.id }))
 */
export function requireUser(): RequestHandler {
  return (req, res, next) => {
    if (req.user !== undefined) return next();
    const code = refusalOf(req) ?? 'AUTH_TOKEN_MISSING';
    setChallenge(res, code);
    next(new HttpError(401, code, REFUSAL_DETAIL[code]));
  };
}
