import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { AuthUser } from '../auth/index.js';
import type { UsersConfig } from './options.js';
import type { User, UserStore } from './store.js';
import { validateFields } from './validate.js';

/**
 * The claim of a signed-in session's user that holds the product user's id. The auth user's
 * own `id` stays the provider's (`auth0|<sub>`): sessions, revocations and per-user rate limits
 * key by it. Set only by this plugin's sign-in hook, after the claims a provider sent, so a
 * provider's claim of the same name never survives into a session. Bearer-token callers do not
 * go through the sign-in, so their users do not carry it.
 */
export const USER_ID_CLAIM = 'qwickapps_user_id';

/** The product user id of a signed-in caller (`req.user`), when the users plugin set one. */
export function userIdOf(user: AuthUser | undefined): string | undefined {
  const value = user?.claims[USER_ID_CLAIM];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The users plugin's sign-in hook: the user linked to the login's issuer and subject, else a
 * new user made from its claims (email, name). A disabled user, a login whose claims do not
 * satisfy the configured fields, and one whose email another user has are refused: accounts are
 * never joined by email on their own (a provider that does not verify emails would let anyone
 * take an account); an admin links identities with `POST /api/users/:id/identities`.
 */
export function usersSignInHook(store: UserStore, config: UsersConfig, logger: Logger) {
  const admitted = async (user: AuthUser, found: User) => {
    if (found.status === 'disabled') return { refuse: 'This account is disabled.' };
    await store.recordAuthId(user.issuer, user.subject, user.id);
    return { ...user, claims: { ...user.claims, [USER_ID_CLAIM]: found.id } };
  };
  return async (user: AuthUser): Promise<AuthUser | { refuse: string }> => {
    const found = await store.findByIdentity(user.issuer, user.subject);
    if (found) return admitted(user, found);
    const claims: Record<string, unknown> = {};
    for (const field of Object.keys(config.fields))
      if (field === 'email' || field === 'name') claims[field] = user[field];
    let created: User;
    try {
      created = await store.create(validateFields(config, claims, false), {
        issuer: user.issuer,
        subject: user.subject,
        authId: user.id,
      });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      // Two first sign-ins of one identity at once: the other one created the user.
      if (error.code === 'USERS_IDENTITY_TAKEN') {
        const linked = await store.findByIdentity(user.issuer, user.subject);
        if (linked) return admitted(user, linked);
      }
      const field = String(error.details?.field ?? '');
      if (error.code === 'USERS_FIELD_TAKEN')
        return { refuse: `Another account already uses this ${field}; ask an admin to link it.` };
      if (error.code === 'USERS_FIELD_INVALID')
        return { refuse: `The provider's account cannot be a user here: ${error.message}.` };
      throw error;
    }
    logger.info({ userId: created.id, issuer: user.issuer }, 'user created at sign-in');
    return { ...user, claims: { ...user.claims, [USER_ID_CLAIM]: created.id } };
  };
}
