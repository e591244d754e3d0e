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

/** Why a request got no user although it presented a credential, as the client may read it. */
export interface Refusal {
  status: number;
  code: AuthRefusal;
  detail: string;
}

/** No credential at all: what a route that needs a caller answers. */
export const MISSING: Refusal = {
  status: 401,
  code: 'AUTH_TOKEN_MISSING',
  detail: 'Sign in, or send Authorization: Bearer <token>.',
};

/** A session cookie the session manager no longer knows (ended, expired, forged). */
export const SESSION_ENDED: Refusal = {
  status: 401,
  code: 'AUTH_SESSION_EXPIRED',
  detail: 'The session has ended: sign in again.',
};

/**
 * Why a request that presented a credential got no user: `requireUser` and the admin guard
 * answer with that (`AUTH_TOKEN_EXPIRED`) instead of "missing". Keyed by the request, so it goes
 * with the request and no two apps share anything.
 */
const refusals = new WeakMap<IncomingMessage, Refusal>();

export function noteRefusal(req: IncomingMessage, refusal: Refusal): void {
  refusals.set(req, refusal);
}

export function refusalOf(req: IncomingMessage): Refusal {
  return refusals.get(req) ?? MISSING;
}

/** RFC 6750's challenge: `invalid_token` when a token was presented and refused. */
export function challengeOf(refusal: Refusal): string {
  return refusal.code === 'AUTH_TOKEN_MISSING' || refusal.code === 'AUTH_SESSION_EXPIRED'
    ? 'Bearer'
    : 'Bearer error="invalid_token"';
}

/** The refusal as an error for Express's error handler, its challenge set on the response. */
export function refusalError(res: ServerResponse, refusal: Refusal): HttpError {
  if (refusal.status === 401) res.setHeader('www-authenticate', challengeOf(refusal));
  return new HttpError(refusal.status, refusal.code, refusal.detail);
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
    next(refusalError(res, refusalOf(req)));
  };
}
