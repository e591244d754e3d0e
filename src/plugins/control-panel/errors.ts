import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the control-panel plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const CPANEL_ERRORS = {
  CPANEL_CREDENTIALS_INVALID: {
    status: 401,
    meaning: 'Basic credentials on an admin route name a wrong user or password.',
  },
  CPANEL_CROSS_SITE: {
    status: 403,
    meaning:
      "A login or state-changing call came from another site's page (Origin, Sec-Fetch-Site).",
  },
  CPANEL_CSRF_INVALID: {
    status: 403,
    meaning: "A state-changing call lacks the session's `x-csrf-token` header, or it is wrong.",
  },
  CPANEL_PERMISSION_MISSING: {
    status: 403,
    meaning:
      'An API key or bearer token on an admin route lacks the permission the route names (`missing`), and is no `admin:*`.',
  },
  CPANEL_LOGIN_DELAYED: {
    status: 429,
    meaning: 'Too many failed logins for this account; `retryAfter` says when to try again.',
  },
  CPANEL_LOGIN_FAILED: { status: 401, meaning: 'Wrong user or password at login.' },
  CPANEL_LOGIN_INVALID: {
    status: 400,
    meaning: 'The login body is not `{ "user": string, "password": string }`.',
  },
  CPANEL_LOGIN_RATE_LIMITED: {
    status: 429,
    meaning: 'Too many failed logins from this address; `retryAfter` says when to try again.',
  },
  CPANEL_REVOKE_INVALID: {
    status: 400,
    meaning: 'The body of a session revocation is not `{ "keepCurrent"?: boolean }`.',
  },
  CPANEL_UNAUTHENTICATED: {
    status: 401,
    meaning: 'No live session (or credentials) on an admin route: log in first.',
  },
  CPANEL_USER_UNKNOWN: {
    status: 403,
    meaning: 'A custom guard let the request in without saying which user it acts as.',
  },
} as const satisfies ErrorCodeTable;
