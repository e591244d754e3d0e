import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the roles plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const ROLES_ERRORS = {
  ROLES_PERMISSION_MISSING: {
    status: 403,
    meaning:
      'The caller is signed in but holds no grant for the permission named in `missing` (its roles, what they inherit, its own permissions). The debug log and the admin explain route say why.',
  },
  ROLES_UNAUTHENTICATED: {
    status: 401,
    meaning: 'A route that needs a permission was called without a signed-in user.',
  },
  ROLES_INVALID_QUERY: {
    status: 400,
    meaning:
      'The explain route needs a user (an id, or a user object when posted) and a permission "action:resource".',
  },
} as const satisfies ErrorCodeTable;
