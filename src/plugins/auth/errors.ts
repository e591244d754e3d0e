import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the auth plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const AUTH_ERRORS = {
  AUTH_TOKEN_MISSING: {
    status: 401,
    meaning: 'The request needs `Authorization: Bearer <token>` (or a session) and has neither.',
  },
  AUTH_TOKEN_INVALID: {
    status: 401,
    meaning:
      'The bearer token is not valid here: malformed, unknown issuer, wrong audience, algorithm or signature, or not a user login. The log says why.',
  },
  AUTH_TOKEN_EXPIRED: {
    status: 401,
    meaning: 'The bearer token has expired (or was issued too long ago); get a new one.',
  },
  AUTH_TOKEN_TOO_LARGE: {
    status: 401,
    meaning: 'The bearer token is longer than `tokens.maxBytes` and was refused unread.',
  },
  AUTH_PROVIDER_UNAVAILABLE: {
    status: 503,
    meaning:
      "The token issuer's key set could not be fetched (timeout, error answer); the token may be fine, try again.",
  },
  AUTH_LOGIN_STATE_INVALID: {
    status: 400,
    meaning:
      'The login callback does not belong to a login this browser started (a replayed, foreign or expired `state`): start the login again.',
  },
  AUTH_LOGIN_FAILED: {
    status: 400,
    meaning: 'The identity provider refused the login or its answer did not verify.',
  },
  AUTH_LOGIN_REFUSED: {
    status: 403,
    meaning: 'The provider signed the user in, but its tokens do not stand for a user login here.',
  },
  AUTH_SIGN_IN_REFUSED: {
    status: 403,
    meaning:
      'The login verified, but a sign-in hook (the users plugin, the product) refused it: a disabled user, one the product does not admit. The detail says why.',
  },
  AUTH_LOGIN_INVALID_CREDENTIALS: {
    status: 401,
    meaning: 'The email or password is wrong.',
  },
  AUTH_LOGIN_INVALID_REQUEST: {
    status: 400,
    meaning:
      'The login request lacks what the provider needs (email and password, a known provider).',
  },
  AUTH_LOGIN_RATE_LIMITED: {
    status: 429,
    meaning:
      'Too many login attempts from this address or for this account; `Retry-After` says when to try again.',
  },
  AUTH_METHOD_NOT_ALLOWED: {
    status: 405,
    meaning: 'Logout changes state and takes POST only.',
  },
  AUTH_CROSS_SITE: {
    status: 403,
    meaning:
      'A login or logout, or a state-changing admin call on a session cookie, came from another origin than the public URL (without Origin, a logout needs `X-CSRF-Token`).',
  },
  AUTH_LOGOUT_TOKEN_INVALID: {
    status: 400,
    meaning:
      'A back-channel `logout_token` did not verify (issuer, audience, `typ`, events, `nonce`, age) or was replayed.',
  },
  AUTH_SESSION_NOT_FOUND: { status: 404, meaning: 'No live session has that id.' },
  AUTH_INVALID_QUERY: { status: 400, meaning: 'A query parameter is missing or malformed.' },
  AUTH_SESSION_EXPIRED: {
    status: 401,
    meaning:
      'The session cookie names a session that has ended (logout, timeout, revocation): sign in again.',
  },
  AUTH_FORBIDDEN: {
    status: 403,
    meaning:
      "The caller is signed in but lacks what the route needs: a permission the route lists, or an admin role for the control panel's routes.",
  },
  AUTH_PERMISSION_MISSING: {
    status: 403,
    meaning:
      'The caller (an API key, a signed-in user) is no admin and lacks the permission this management route needs; `missing` names it (`traffic:deploy:api`).',
  },
} as const satisfies ErrorCodeTable;
