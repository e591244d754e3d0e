import { z } from 'zod';
import type { EnvSpec } from '../core/config.js';
import { secret } from '../core/masking.js';
import { VERSION_PATTERN, VERSION_RULE } from '../plugins/traffic/version.js';

/** How a product's users sign in: a provider whose settings come from the environment. */
export type SignInChoice = 'none' | 'dev' | 'auth0' | 'supabase';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const key = secret(z.string().min(32, 'at least 32 characters')).optional();
const text = z.string().min(1).optional();
const release = z.string().regex(VERSION_PATTERN, VERSION_RULE);

/** What every process of a product reads: the gateway and its services alike. */
const SHARED = {
  HOST: { schema: z.string().min(1).default('127.0.0.1'), description: 'Interface to bind' },
  DATA_DIR: { schema: text, description: 'Folder for embedded data and logs' },
  DATABASE_URL: { schema: text, description: 'A database server instead of the embedded one' },
  REDIS_URL: { schema: text, description: 'Redis for the cache instead of memory' },
  MANAGEMENT_TOKEN: { schema: key, description: 'Bearer token of the management APIs' },
  AUTH_FORWARD_SECRET: { schema: key, description: "Key of the gateway's forwarded identity" },
} satisfies EnvSpec;

/** A service process: one API app behind a gateway (the gateway sets these for its slots). */
export const SERVICE_ENV = {
  ...SHARED,
  PORT: { schema: port(3100), description: 'Port the service listens on' },
  VERSION: { schema: release.optional(), description: 'The release this process runs' },
} satisfies EnvSpec;

/** The gateway of a product, before its sign-in provider's variables. */
export const GATEWAY_ENV = {
  ...SHARED,
  PORT: { schema: port(3000), description: 'Port the gateway listens on' },
  SERVICE_PORT: { schema: port(3100), description: "The first service's first slot port" },
  ADMIN_PASSWORD: { schema: secret(z.string().min(8)).optional(), description: 'Panel password' },
  PUBLIC_URL: { schema: z.url().optional(), description: 'Public origin logins return to' },
} satisfies EnvSpec;

/** Each sign-in provider's variables: required ones fail start-up when missing. */
export const SIGN_IN_ENV = {
  none: {},
  dev: {
    DEV_AUTH_SECRET: { schema: key, description: 'HS256 key of development bearer tokens' },
  },
  auth0: {
    AUTH0_DOMAIN: { schema: z.string().min(1), description: 'Auth0 tenant domain' },
    AUTH0_AUDIENCE: { schema: z.string().min(1), description: "The Auth0 API's identifier" },
    AUTH0_CLIENT_ID: { schema: text, description: 'Client id: enables browser login' },
    AUTH0_CLIENT_SECRET: { schema: secret(z.string().min(1)).optional(), description: 'Secret' },
    AUTH0_ROLES_CLAIM: { schema: text, description: 'Namespaced claim holding roles' },
  },
  supabase: {
    SUPABASE_URL: { schema: z.url(), description: 'Supabase project URL' },
    SUPABASE_ANON_KEY: { schema: secret(z.string().min(1)), description: 'Publishable key' },
  },
} satisfies Record<SignInChoice, EnvSpec>;
