import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the static plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const STATIC_ERRORS = {
  STATIC_PATH_INVALID: {
    status: 400,
    meaning: 'The path cannot be served: traversal, encoded separators, NUL bytes.',
  },
  STATIC_RELEASES_DISABLED: {
    status: 409,
    meaning: 'A release was asked of a site served as one folder (`releases` is false).',
  },
  STATIC_RELEASE_INCOMPLETE: {
    status: 409,
    meaning: 'A release has no index file; activating it would serve nothing.',
  },
  STATIC_RELEASE_INVALID: {
    status: 400,
    meaning: 'A release name is not letters, digits, ".", "_" and "-".',
  },
  STATIC_RELEASE_NOT_FOUND: {
    status: 404,
    meaning: 'No release of that name in the releases folder.',
  },
  STATIC_RELEASE_PERSIST_FAILED: {
    status: 500,
    meaning: 'The active release could not be recorded in the releases folder.',
  },
} as const satisfies ErrorCodeTable;
