import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { secret, type ConfigIssue, type EnvSpec } from '../src/index.js';
import { auth0Adapter, supabaseAdapter, type AuthProvider } from '../src/plugins/auth/index.js';

/** The provider variables `npm start` reads: an Auth0 tenant, or a Supabase project. */
export const SIGN_IN_ENV = {
  AUTH0_DOMAIN: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'a host name without scheme or path')
      .optional(),
    description: 'Auth0 tenant domain (example.us.auth0.com): sign in with Auth0',
  },
  AUTH0_CLIENT_ID: {
    schema: z.string().min(1).optional(),
    description: "The Auth0 application's client id",
  },
  AUTH0_CLIENT_SECRET: {
    schema: secret(z.string().min(1)).optional(),
    description: "The Auth0 application's client secret",
  },
  AUTH0_AUDIENCE: {
    schema: z.string().min(1).optional(),
    description: "The Auth0 API's identifier, which access tokens carry in aud",
  },
  AUTH0_ROLES_CLAIM: {
    schema: z.string().url().optional(),
    description:
      "The namespaced claim an Auth0 Action puts the user's roles in (https://example.com/roles): editor, viewer, admin",
  },
  SUPABASE_URL: {
    schema: z.string().url().optional(),
    description: 'Supabase project URL (https://<ref>.supabase.co): sign in with Supabase',
  },
  SUPABASE_ANON_KEY: {
    schema: secret(z.string().min(1)).optional(),
    description: "The Supabase project's anon (publishable) key",
  },
  SUPABASE_JWT_SECRET: {
    schema: secret(z.string().min(32)).optional(),
    description: 'The legacy JWT secret of a Supabase project that still signs with HS256',
  },
} satisfies EnvSpec;

export type SignInEnv = {
  [Name in keyof typeof SIGN_IN_ENV]?: string;
};

const AUTH0 = ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET', 'AUTH0_AUDIENCE'] as const;
const SUPABASE = ['SUPABASE_URL', 'SUPABASE_ANON_KEY'] as const;

/**
 * Problems the variables have together, beyond each one's own format: a provider set given in
 * part (each missing variable named), or both providers at once (the demo page has one login).
 */
export function signInIssues(env: SignInEnv): ConfigIssue[] {
  const missing = (group: readonly (keyof SignInEnv)[], extra: (keyof SignInEnv)[] = []) => {
    if (![...group, ...extra].some((name) => env[name] !== undefined)) return [];
    return group
      .filter((name) => env[name] === undefined)
      .map((name) => ({
        name,
        received: 'nothing (not set)',
        expected: `a value: ${group.join(', ')} go together`,
      }));
  };
  const issues = [...missing(AUTH0), ...missing(SUPABASE, ['SUPABASE_JWT_SECRET'])];
  if (env.AUTH0_DOMAIN !== undefined && env.SUPABASE_URL !== undefined)
    issues.push({
      name: 'SUPABASE_URL',
      received: JSON.stringify(env.SUPABASE_URL),
      expected: 'AUTH0_* or SUPABASE_* variables, not both: the demo signs in with one provider',
    });
  return issues;
}

/** A user of the development stand-in, as `npm start` prints it. */
export interface StandInUser {
  login: string;
  password: string;
  /** The demo role the stand-in gives it. */
  role: 'editor' | 'viewer';
}

/** How the demo signs users in, for the gateway and the demo page. */
export interface SignIn {
  mode: 'auth0' | 'supabase' | 'development' | 'off';
  /** The auth plugin's providers; empty when sign-in is off. */
  providers: AuthProvider[];
  /** What the demo page and the log say about it. */
  label: string;
  /** How the page signs in: the OpenID Connect redirect, or Supabase's email and password. */
  login: 'redirect' | 'password' | 'none';
  /** The stand-in's users (development only). */
  users: StandInUser[];
  /** The stand-in's address (development only). */
  issuer?: string;
  close(): Promise<void>;
}

const nothingToClose = async () => {};

/**
 * The demo's sign-in, from the provider variables: a real Auth0 tenant, a Supabase project, or
 * (in development, with neither) an Auth0-shaped OpenID provider in this process with two users,
 * an editor and a viewer, whose passwords are new on every run. In production with neither there is no login at all: the
 * demo runs for anonymous visitors, and oidc-provider (a dev dependency) is never loaded.
 * @example const signIn = await startSignIn(env, { production: false, publicUrl: 'http://localhost:3101' })
 */
export async function startSignIn(
  env: SignInEnv,
  options: { production: boolean; publicUrl: string },
): Promise<SignIn> {
  if (env.AUTH0_DOMAIN !== undefined)
    return {
      mode: 'auth0',
      providers: [
        auth0Adapter({
          domain: env.AUTH0_DOMAIN,
          clientId: env.AUTH0_CLIENT_ID,
          clientSecret: env.AUTH0_CLIENT_SECRET,
          audience: env.AUTH0_AUDIENCE,
          rolesClaim: env.AUTH0_ROLES_CLAIM,
        }),
      ],
      label: `Auth0 (${env.AUTH0_DOMAIN})`,
      login: 'redirect',
      users: [],
      close: nothingToClose,
    };
  if (env.SUPABASE_URL !== undefined)
    return {
      mode: 'supabase',
      providers: [
        supabaseAdapter({
          url: env.SUPABASE_URL,
          anonKey: env.SUPABASE_ANON_KEY ?? '',
          jwtSecret: env.SUPABASE_JWT_SECRET,
        }),
      ],
      label: `Supabase (${new URL(env.SUPABASE_URL).host})`,
      login: 'password',
      users: [],
      close: nothingToClose,
    };
  if (options.production)
    return {
      mode: 'off',
      providers: [],
      label: 'off: no provider is configured (set AUTH0_* or SUPABASE_* variables)',
      login: 'none',
      users: [],
      close: nothingToClose,
    };
  return startStandIn(options.publicUrl);
}

async function startStandIn(publicUrl: string): Promise<SignIn> {
  const { startAuth0Op, ROLES_CLAIM } = await import('./dev-provider.js');
  // An editor and a viewer, so the page shows what each may do; new passwords on every run.
  const users: StandInUser[] = [
    { login: 'alice', password: randomBytes(12).toString('base64url'), role: 'editor' },
    { login: 'bob', password: randomBytes(12).toString('base64url'), role: 'viewer' },
  ];
  const op = await startAuth0Op({
    users: users.map((user) => ({
      sub: user.login,
      password: user.password,
      email: `${user.login}@example.com`,
      name: user.login[0].toUpperCase() + user.login.slice(1),
      roles: [user.role],
    })),
  });
  op.registerClient({
    redirectUri: new URL('/auth/callback', publicUrl).href,
    postLogoutRedirectUri: new URL('/', publicUrl).href,
    backchannelLogoutUri: new URL('/auth/backchannel-logout', publicUrl).href,
  });
  return {
    mode: 'development',
    providers: [
      auth0Adapter({
        name: 'dev',
        issuer: op.issuer,
        clientId: op.clientId,
        clientSecret: op.clientSecret,
        audience: op.audience,
        rolesClaim: ROLES_CLAIM,
      }),
    ],
    label: `a development stand-in for Auth0 at ${op.issuer} (not for production)`,
    login: 'redirect',
    users,
    issuer: op.issuer,
    close: () => op.close(),
  };
}
