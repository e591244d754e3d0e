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
      'The explain route needs a user (an id, or a user object when posted) and a permission "action:resource"; the assignments route takes `user` once.',
  },
  ROLES_INVALID_ROLE: {
    status: 400,
    meaning:
      'A stored role was refused: `details.fields` names each bad field (a name, a grant that is not a permission pattern, an inherited role that does not exist, an inheritance cycle).',
  },
  ROLES_INVALID_ASSIGNMENT: {
    status: 400,
    meaning:
      'An assignment needs a user id and a role that exists (`details.field` says which is wrong).',
  },
  ROLES_CONFIGURED: {
    status: 409,
    meaning:
      'The role or assignment comes from the configuration, the read-only base: change it there, or give a stored role another name.',
  },
  ROLES_ROLE_EXISTS: {
    status: 409,
    meaning: 'A stored role has that name; send `replace: true` (or PUT) to replace it.',
  },
  ROLES_ROLE_NOT_FOUND: { status: 404, meaning: 'No stored role has that name.' },
  ROLES_ROLE_IN_USE: {
    status: 409,
    meaning:
      'The role is still assigned to users or inherited by other roles (`details.inheritedBy`, `details.assignedTo`): change those first.',
  },
  ROLES_ASSIGNMENT_NOT_FOUND: {
    status: 404,
    meaning: 'The database does not assign that role to that user.',
  },
} as const satisfies ErrorCodeTable;
