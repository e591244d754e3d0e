import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the services plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const SERVICES_ERRORS = {
  SERVICES_INVALID_LIMIT: {
    status: 400,
    meaning: '`limit` of `GET /api/services/:name/logs` is not a whole number in range.',
  },
  SERVICES_NOT_FOUND: { status: 404, meaning: 'No local service has that name.' },
} as const satisfies ErrorCodeTable;
