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
} as const satisfies ErrorCodeTable;
