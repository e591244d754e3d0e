import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the config plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const CONFIG_ERRORS = {
  CONFIG_INVALID_QUERY: {
    status: 400,
    meaning: '`GET /api/config` was given query parameters; it takes none.',
  },
} as const satisfies ErrorCodeTable;
