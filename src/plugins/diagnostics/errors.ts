import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the diagnostics plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const DIAGNOSTICS_ERRORS = {
  DIAGNOSTICS_INVALID_QUERY: {
    status: 400,
    meaning: '`GET /api/diagnostics` was given an unknown or malformed query parameter.',
  },
} as const satisfies ErrorCodeTable;
