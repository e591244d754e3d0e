import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the rate-limit plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const RATE_LIMIT_ERRORS = {
  RATE_LIMIT_EXCEEDED: {
    status: 429,
    meaning: 'Too many requests in the window; `Retry-After` says when to try again.',
  },
  RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    meaning: 'The shared store (Redis) failed, and the rule fails closed.',
  },
} as const satisfies ErrorCodeTable;
