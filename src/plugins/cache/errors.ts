import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the cache plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const CACHE_ERRORS = {
  CACHE_INVALID_ARGUMENT: {
    status: 500,
    meaning:
      'A plugin called the cache with a key, TTL or option of the wrong type: a programming error in the caller.',
  },
  CACHE_UNAVAILABLE: {
    status: 503,
    meaning:
      'The cache store (Redis, SQLite) failed or did not answer; the operation was not done.',
  },
  CACHE_VALUE_NOT_SERIALIZABLE: {
    status: 500,
    meaning:
      'A value cannot be cached because it would not survive JSON unchanged (a Date, a Map, a cycle, undefined).',
  },
  CACHE_VALUE_TOO_LARGE: {
    status: 413,
    meaning: "A value is larger than the memory store's maxBytes.",
  },
} as const satisfies ErrorCodeTable;
