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
  USERS_SYNC_RUNNING: {
    status: 409,
    meaning:
      'A provider sync is running already, on this or another instance sharing the database; try again when it ends.',
  },
  USERS_SYNC_FAILED: {
    status: 502,
    meaning:
      'The provider sync stopped: its API failed or kept answering 429 past the retries. `report` has the counts so far; the next sync continues where this one stopped.',
  },
  USERS_SYNC_NOT_CONFIGURED: {
    status: 404,
    meaning: 'Provider sync is not configured: give the users plugin `sync`.',
  },
} as const satisfies ErrorCodeTable;
