import type { ErrorCodeTable } from '../../core/errors.js';

/** Every code the tenants plugin answers with; `docs/error-codes.md` is generated from it. */
export const TENANTS_ERRORS = {
  TENANTS_MISSING: {
    status: 400,
    meaning:
      'The request names no tenant where the plugin is configured to read it (`from`: a header, a route parameter or a claim).',
  },
  TENANTS_INVALID_ID: {
    status: 400,
    meaning: 'A tenant id is 1 to 48 characters of a-z, 0-9 and `_`.',
  },
  TENANTS_UNAUTHENTICATED: {
    status: 401,
    meaning: 'A tenant route needs a signed-in caller (a session, a bearer token or an API key).',
  },
  TENANTS_NOT_A_MEMBER: {
    status: 403,
    meaning: 'The caller is not a member of the tenant the request names (`reason: not-a-member`).',
  },
  TENANTS_KEY_BOUND: {
    status: 403,
    meaning:
      'The API key belongs to another tenant and acts only inside it (`reason: key-bound-elsewhere`).',
  },
  TENANTS_INVALID_BODY: {
    status: 400,
    meaning:
      'A membership is `{ roles }`: at most `maxRolesPerMember` role names; `field` names what is wrong.',
  },
  TENANTS_INVALID_USER: {
    status: 400,
    meaning: 'A member is named by a user id of 1 to 255 characters.',
  },
  TENANTS_MEMBER_NOT_FOUND: {
    status: 404,
    meaning: 'The user is not a member of that tenant.',
  },
  TENANTS_UNAVAILABLE: {
    status: 503,
    meaning:
      'The database did not answer while a membership was checked: not the caller’s fault, so it should retry.',
  },
} as const satisfies ErrorCodeTable;
