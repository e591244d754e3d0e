import { randomBytes } from 'node:crypto';
import { readEnv } from '../core/config.js';
import { auth0Adapter } from '../plugins/auth/adapters/auth0.js';
import { jwtAdapter } from '../plugins/auth/adapters/jwt.js';
import { supabaseAdapter } from '../plugins/auth/adapters/supabase.js';
import type { AuthProvider } from '../plugins/auth/types.js';
import { SIGN_IN_ENV, type SignInChoice } from './env.js';

/** The issuer of development bearer tokens (`auth: 'dev'`). */
export const DEV_ISSUER = 'dev';

/**
 * The providers a sign-in choice names, built from its variables (SIGN_IN_ENV): a missing or
 * bad one fails start-up, named. `dev` takes HS256 bearer tokens signed with DEV_AUTH_SECRET
 * (iss "dev", aud the product's name), a random key per run when unset.
 */
export function signInProviders(
  choice: SignInChoice,
  audience: string,
  env: NodeJS.ProcessEnv,
): AuthProvider[] {
  if (choice === 'dev') {
    const { DEV_AUTH_SECRET } = readEnv(SIGN_IN_ENV.dev, env);
    const secret = DEV_AUTH_SECRET ?? randomBytes(32).toString('base64url');
    return [jwtAdapter({ issuer: DEV_ISSUER, audience, secret, algorithms: ['HS256'] })];
  }
  if (choice === 'auth0') {
    const values = readEnv(SIGN_IN_ENV.auth0, env);
    return [
      auth0Adapter({
        domain: values.AUTH0_DOMAIN,
        audience: values.AUTH0_AUDIENCE,
        clientId: values.AUTH0_CLIENT_ID,
        clientSecret: values.AUTH0_CLIENT_SECRET,
        rolesClaim: values.AUTH0_ROLES_CLAIM,
      }),
    ];
  }
  if (choice === 'supabase') {
    const values = readEnv(SIGN_IN_ENV.supabase, env);
    return [supabaseAdapter({ url: values.SUPABASE_URL, anonKey: values.SUPABASE_ANON_KEY })];
  }
  return [];
}
