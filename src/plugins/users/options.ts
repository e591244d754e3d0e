import { z } from 'zod';

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

export type UsersOptions = z.input<typeof usersOptionsSchema>;
export type UsersConfig = z.output<typeof usersOptionsSchema>;
export type FieldConfig = z.output<typeof fieldSchema>;
