import type { ErrorCodeTable } from '../../core/errors.js';

/** Every code the users plugin answers with; `docs/error-codes.md` is generated from it. */
export const USERS_ERRORS = {
  USERS_FIELD_INVALID: {
    status: 400,
    meaning:
      'A field of the user is missing, unknown, too long or malformed (`email`, `url`); `field` names it.',
  },
  USERS_FIELD_TAKEN: {
    status: 409,
    meaning: 'Another user already has this value of a unique field; `field` names it.',
  },
  USERS_IDENTITY_TAKEN: {
    status: 409,
    meaning: 'That issuer and subject are already linked to a user.',
  },
  USERS_NOT_FOUND: { status: 404, meaning: 'No user has that id.' },
  USERS_INVALID_QUERY: {
    status: 400,
    meaning: 'A query parameter (`limit`, `sort`, `order`, `cursor`, `q`) is malformed.',
  },
  USERS_INVALID_BODY: { status: 400, meaning: 'The request body is not a JSON object.' },
  USERS_FORBIDDEN: {
    status: 403,
    meaning:
      'The roles plugin says the caller lacks the permission the route needs (`users:read` or `users:write`); `permission` names it.',
  },
} as const satisfies ErrorCodeTable;
