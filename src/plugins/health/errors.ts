import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the health plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const HEALTH_ERRORS = {
  HEALTH_METHOD_NOT_ALLOWED: {
    status: 405,
    meaning:
      'A probe (`/health/live`, `/ready`, `/startup`) was called with a method other than GET or HEAD.',
  },
} as const satisfies ErrorCodeTable;
