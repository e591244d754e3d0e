import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the database plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const DATABASE_ERRORS = {
  DATABASE_CONNECT_FAILED: {
    status: 503,
    meaning:
      'The database refused the connection for a reason retrying will not fix (credentials, unknown database).',
  },
  DATABASE_MIGRATION_FAILED: {
    status: 500,
    meaning: "A migration's SQL failed; the migration was rolled back and start-up stops.",
  },
  DATABASE_NOT_READY: { status: 503, meaning: 'The database is not open yet, or no longer.' },
  DATABASE_TENANT_INVALID: {
    status: 400,
    meaning: 'A tenant id is not 1-48 characters of a-z, 0-9 and _.',
  },
  DATABASE_TENANT_UNSUPPORTED: {
    status: 501,
    meaning:
      'Schema-per-tenant was asked of a provider without schemas (only PostgreSQL and PGlite have them).',
  },
  DATABASE_TIMEOUT: {
    status: 503,
    meaning: 'Connecting or a query did not finish within its timeout.',
  },
  DATABASE_UNAVAILABLE: { status: 503, meaning: 'The database does not answer.' },
  DATABASE_UNREACHABLE: {
    status: 503,
    meaning: 'The database could not be reached at start-up, retried until the connect timeout.',
  },
} as const satisfies ErrorCodeTable;
