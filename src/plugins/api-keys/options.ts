import { z } from 'zod';

export const apiKeysOptionsSchema = z.strictObject({
  /** Where the admin API lives: `POST|GET <basePath>`, `DELETE <basePath>/:id`. */
  basePath: z
    .string()
    .regex(/^\/[a-z0-9/_-]*[a-z0-9]$/, 'a path like "/api/keys"')
    .default('/api/keys'),
  /**
   * Least time between two writes of a key's `lastUsedAt`, in ms: a busy key costs one UPDATE a
   * minute, not one per request. Default 60 000.
   */
  lastUsedInterval: z.number().int().min(1_000).max(86_400_000).default(60_000),
  /** Most scopes one key may carry. Default 50. */
  maxScopes: z.number().int().min(1).max(500).default(50),
  /**
   * Longest lifetime a key may be given, in seconds (`expiresIn`); a key created without one
   * expires after it. Unset: keys may be created without an expiry.
   */
  maxLifetime: z
    .number()
    .int()
    .min(60)
    .max(10 * 365 * 86_400)
    .optional(),
});

export type ApiKeysOptions = z.input<typeof apiKeysOptionsSchema>;
export type ApiKeysConfig = z.output<typeof apiKeysOptionsSchema>;
