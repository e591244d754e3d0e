import type { ErrorCodeTable } from '../../core/errors.js';

/** Every code the API keys plugin answers with; `docs/error-codes.md` is generated from it. */
export const API_KEYS_ERRORS = {
  API_KEYS_INVALID_BODY: {
    status: 400,
    meaning:
      'The new key is malformed: `name` (1 to 100 characters), `scopes` (permission names), `expiresIn` (seconds) or `tenantId` (a tenant id); `field` names it.',
  },
  API_KEYS_NOT_FOUND: { status: 404, meaning: 'No API key has that id.' },
  API_KEYS_UNAVAILABLE: {
    status: 503,
    meaning:
      'The database did not answer while an API key was checked: not the caller’s fault, so it should retry, not drop its key.',
  },
} as const satisfies ErrorCodeTable;
