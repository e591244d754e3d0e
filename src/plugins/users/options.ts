import { z } from 'zod';
import { secret } from '../../core/masking.js';

/** Names the user record itself uses; a configured field may not take them. */
export const RESERVED_FIELDS = [
  'id',
  'status',
  'disabled',
  'disabledAt',
  'createdAt',
  'updatedAt',
  'identities',
] as const;

/** Fields kept in columns of their own (see schema.ts); the others live in `profile`. */
export const COLUMN_FIELDS: readonly string[] = ['email', 'name'];

const fieldSchema = z.strictObject({
  /** `text` (default; `email` for the field named `email`), `email` or `url` (http/https). */
  type: z.enum(['text', 'email', 'url']).optional(),
  /** Every user must have a value. Default false. */
  required: z.boolean().default(false),
  /** No two users share a value (emails compared lower-cased). Default false. */
  unique: z.boolean().default(false),
  /** Longest value in characters. Default 255, which is also the most a unique field takes. */
  maxLength: z.number().int().min(1).max(10_000).default(255),
});

/** Every timeout, limit and retry of a provider sync; each has a default. */
const syncCommon = {
  /**
   * Milliseconds between syncs on a timer (each instance tries; the one that takes the lock
   * runs). Unset: only on demand (`POST /api/users/sync`). The vision's example: 3600000.
   */
  interval: z.number().int().min(1_000).optional(),
  /**
   * How long the sync lock is held without a sign of life, in ms: a holder renews it after each
   * page, and an instance that died frees it after this. Default 120000.
   */
  lockTtl: z.number().int().min(1_000).max(3_600_000).default(120_000),
  /** Each request to the provider, in ms. Default 30000. */
  requestTimeout: z.number().int().min(100).max(300_000).default(30_000),
  /** Answers of 429 (or 503) retried per request before the sync stops, resumable. Default 5. */
  maxRetries: z.number().int().min(0).max(20).default(5),
  /** The longest `Retry-After` honoured, in ms; a longer one is cut to this. Default 60000. */
  maxRetryAfter: z.number().int().min(0).max(600_000).default(60_000),
};

const auth0Sync = z.strictObject({
  provider: z.literal('auth0'),
  /** The tenant's domain (`acme.eu.auth0.com`): issuer `https://<domain>/`, as the auth adapter's. */
  domain: z
    .string()
    .regex(/^[a-z0-9.-]+(:[0-9]+)?$/i, 'a host name like "acme.eu.auth0.com", without https://'),
  /** A machine-to-machine application with `read:users` on the Management API (AUTH0_MGMT_CLIENT_ID). */
  clientId: z.string().min(1, 'required (or set AUTH0_MGMT_CLIENT_ID)'),
  /** Its secret (AUTH0_MGMT_CLIENT_SECRET). */
  clientSecret: secret(z.string().min(1, 'required (or set AUTH0_MGMT_CLIENT_SECRET)')),
  /**
   * Where the Management API and `/oauth/token` are reached when not at `https://<domain>`
   * (a proxy). The token's audience stays `https://<domain>/api/v2/`.
   */
  managementUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Between polls of a users-export job (past 1,000 users), in ms. Default 2000. */
  exportPollInterval: z.number().int().min(10).max(60_000).default(2_000),
  /** Longest wait for an export job to complete, in ms. Default 600000. */
  exportTimeout: z.number().int().min(1_000).max(3_600_000).default(600_000),
  ...syncCommon,
});

const supabaseSync = z.strictObject({
  provider: z.literal('supabase'),
  /** The project URL (`https://<ref>.supabase.co`): issuer `<url>/auth/v1`, as the auth adapter's. */
  url: z.url({ protocol: /^https?$/ }).transform((value) => value.replace(/\/+$/, '')),
  /** The service-role key (SUPABASE_SERVICE_ROLE_KEY): it bypasses row security, keep it server-side. */
  serviceRoleKey: secret(z.string().min(1, 'required (or set SUPABASE_SERVICE_ROLE_KEY)')),
  /** Users per page of `GET /auth/v1/admin/users`. Default 100. */
  perPage: z.number().int().min(1).max(1_000).default(100),
  ...syncCommon,
});

/** Provider sync: which provider, how often, and its Management/admin API credentials. */
export const syncOptionsSchema = z.discriminatedUnion('provider', [auth0Sync, supabaseSync]);

const fieldName = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9_]{0,63}$/, 'a field name like "avatar" or "displayName"');

export const usersOptionsSchema = z
  .strictObject({
    /** Where users live: the database plugin's database (the only storage for now). */
    storage: z.literal('database').default('database'),
    /**
     * The users table; `<table>_identities` and `<table>_unique` sit beside it. A lower-case
     * SQL identifier. Default `users`.
     */
    table: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,40}$/, 'a lower-case SQL identifier of at most 41 characters')
      .default('users'),
    /**
     * The user's fields and their rules. Default `{ email: { unique: true }, name: {} }`.
     * @example { email: { required: true, unique: true }, name: { required: true }, avatar: { type: 'url' } }
     */
    fields: z.record(fieldName, fieldSchema).prefault({ email: { unique: true }, name: {} }),
    /** Where the API is mounted. Default `/api/users`. */
    basePath: z
      .string()
      .regex(/^\/[a-z0-9/_-]*[a-z0-9_-]$/, 'a path like "/api/users"')
      .default('/api/users'),
    /** Most users one page of `GET /api/users` answers when `limit` is not given. Default 50. */
    pageSize: z.number().int().min(1).max(100).default(50),
    /**
     * Users of the auth provider copied into this table, on a timer and on demand
     * (`POST /api/users/sync`). Unset: no sync.
     * @example { provider: 'auth0', interval: 3600000, domain: 'acme.eu.auth0.com' }
     */
    sync: syncOptionsSchema.optional(),
    /**
     * How often each instance reloads the set of disabled users' identities from the database,
     * in ms: the longest a user disabled on another instance keeps being let in. Default 10000.
     */
    disabledRefresh: z.number().int().min(100).max(600_000).default(10_000),
  })
  .superRefine((options, issue) => {
    for (const [name, field] of Object.entries(options.fields)) {
      if ((RESERVED_FIELDS as readonly string[]).includes(name))
        issue.addIssue({
          code: 'custom',
          path: ['fields', name],
          message: `"${name}" is part of every user record; name the field otherwise`,
        });
      if ((field.unique || COLUMN_FIELDS.includes(name)) && field.maxLength > 255)
        issue.addIssue({
          code: 'custom',
          path: ['fields', name, 'maxLength'],
          message: 'a unique field, and email and name, take at most 255 characters',
        });
    }
  });

type Credential = 'clientId' | 'clientSecret' | 'serviceRoleKey';
/** A sync's options as callers give them: credentials may come from the environment instead. */
export type SyncOptions<T = z.input<typeof syncOptionsSchema>> = T extends unknown
  ? Omit<T, Credential> & Partial<Pick<T, Extract<keyof T, Credential>>>
  : never;
export type UsersOptions = Omit<z.input<typeof usersOptionsSchema>, 'sync'> & {
  /** See `usersOptionsSchema.sync`; AUTH0_MGMT_CLIENT_ID/SECRET, SUPABASE_SERVICE_ROLE_KEY fill credentials. */
  sync?: SyncOptions;
};
export type UsersConfig = z.output<typeof usersOptionsSchema>;
export type FieldConfig = z.output<typeof fieldSchema>;
export type SyncConfig = z.output<typeof syncOptionsSchema>;
export type Auth0SyncConfig = z.output<typeof auth0Sync>;
export type SupabaseSyncConfig = z.output<typeof supabaseSync>;
