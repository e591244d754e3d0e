import { z } from 'zod';
import { durationSchema } from '../../core/duration.js';
import type { DatabaseDialect, DatabaseProvider } from './types.js';

export const PROVIDERS = [
  'pglite',
  'postgres',
  'mysql',
  'sqlite',
] as const satisfies readonly DatabaseProvider[];

export const DIALECT_OF: Record<DatabaseProvider, DatabaseDialect> = {
  pglite: 'postgresql',
  postgres: 'postgresql',
  mysql: 'mysql',
  sqlite: 'sqlite',
};

const URL_EXAMPLES =
  'a database URL such as postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db, sqlite:./data/app.db, pglite:./data/pg or memory://';

const SCHEMES: [RegExp, DatabaseProvider][] = [
  [/^postgres(ql)?:\/\//i, 'postgres'],
  [/^(mysql|mariadb):\/\//i, 'mysql'],
  [/^(sqlite|file):/i, 'sqlite'],
  [/^(pglite|memory):/i, 'pglite'],
];

/** The provider a URL's scheme names, or undefined for an unknown scheme. */
export function providerOfUrl(url: string): DatabaseProvider | undefined {
  return SCHEMES.find(([pattern]) => pattern.test(url))?.[1];
}

/**
 * A file path rather than a URL (`./app.db`, `/var/lib/app.db`, `C:\data\app.db`, `:memory:`):
 * what drizzle-kit and better-sqlite3 users write for SQLite. Taken as written, never URL-decoded.
 */
export function isPlainPath(url: string): boolean {
  return (
    url === ':memory:' ||
    /^[a-z]:[\\/]/i.test(url) ||
    (url !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(url))
  );
}

/**
 * Where an embedded database keeps its data: a path, or undefined for in-memory.
 * `pglite:./data/pg`, `pglite:///abs/dir`, `memory://`, `sqlite:./app.db`, `file:/abs/app.db`, `sqlite::memory:`,
 * or for SQLite a plain path: `./app.db`, `:memory:`.
 */
export function embeddedLocation(url: string | undefined): string | undefined {
  if (url && isPlainPath(url)) return url === ':memory:' ? undefined : url;
  if (!url || /^memory:/i.test(url)) return undefined;
  const rest = url.replace(/^(pglite|sqlite|file):/i, '').replace(/^\/\/(?=\/)/, '');
  if (
    rest === '' ||
    rest === ':memory:' ||
    rest === '//memory' ||
    rest === 'memory' ||
    rest === '//:memory:'
  )
    return undefined;
  return decodeURIComponent(rest.replace(/^\/\/(?=\.)/, ''));
}

/** Why a URL cannot be used, or undefined when it can. */
function urlProblem(url: string): string | undefined {
  const provider = providerOfUrl(url);
  if (!provider) return URL_EXAMPLES;
  if (provider === 'postgres' || provider === 'mysql') {
    try {
      if (!new URL(url).hostname) return `${URL_EXAMPLES} (no host given)`;
    } catch {
      return URL_EXAMPLES;
    }
  }
  return undefined;
}

const identifier = (what: string) =>
  z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,47}$/, `${what}: lower-case letters, digits and _ (at most 48)`);
/** A length of time: `'30s'`, `'500ms'`, or a bare number of milliseconds. */
const milliseconds = (fallback: number, min = 0) =>
  durationSchema({ unit: 'ms', min }).default(fallback);
const folder = z.union([z.string().min(1), z.instanceof(URL)]);

const healthCheckSchema = z.object({
  enabled: z.boolean().default(true),
  /** Between runs (`'10s'`, or milliseconds; at least 10 ms). */
  interval: milliseconds(10_000, 10),
  /** Before a run counts as failed (`'2s'`, or milliseconds). */
  timeout: milliseconds(2_000, 1),
  /** The pool counts as saturated once callers have waited (or all connections were busy) this long. */
  saturatedAfter: milliseconds(5_000),
});

export const databaseOptionsSchema = z
  .object({
    /** Default: inferred from `url`, else `pglite`. */
    provider: z.enum(PROVIDERS).optional(),
    /** Connection URL; falls back to `DATABASE_URL`. With `provider: 'sqlite'`, a file path (`./app.db`) or `:memory:`. */
    url: z
      .string()
      .superRefine((url, ctx) => {
        // A plain path is a SQLite file; whether the provider is SQLite is checked below, once it is known.
        const problem = isPlainPath(url) ? undefined : urlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** PostgreSQL/PGlite schema the app's tables live in (search_path). Default `public`. */
    schema: identifier('a schema name').optional(),
    pool: z
      .object({
        /** Connections kept open when idle (opened on demand, never closed below this). */
        min: z.number().int().min(0).default(0),
        max: z.number().int().min(1).default(10),
        /** Idle connections above `min` close after this long (`'30s'`, or milliseconds). */
        idleTimeout: milliseconds(30_000),
      })
      .prefault({}),
    /** The app's own migrations: one folder, or one per dialect. */
    migrations: z
      .union([
        folder,
        z.object({
          postgres: folder.optional(),
          mysql: folder.optional(),
          sqlite: folder.optional(),
        }),
      ])
      .optional(),
    migrationsTable: identifier('a table name').default('qwickapps_migrations'),
    /** How long a starter waits for another instance to finish migrating (`'1m'`, or milliseconds). */
    migrationLockTimeout: milliseconds(60_000),
    /** `true` (default) contributes the `database` and `database-pool` checks to /api/health; `false` none; an object tunes them. */
    healthCheck: z
      .union([z.boolean(), healthCheckSchema])
      .default(true)
      .transform((value) =>
        typeof value === 'boolean' ? { ...healthCheckSchema.parse({}), enabled: value } : value,
      ),
    /** Opening a connection (`'5s'`, or milliseconds). */
    connectTimeout: milliseconds(5_000),
    /** Server-side limit per statement (0 = none; `'30s'`, or milliseconds). SQLite: how long to wait for a lock. */
    statementTimeout: milliseconds(30_000),
    /** How long start-up keeps retrying an unreachable server before failing (`'30s'`, or milliseconds). */
    startupTimeout: milliseconds(30_000),
    /** Backoff between start-up attempts: doubles from `initialDelay` up to `maxDelay` (durations, or milliseconds). */
    startupRetry: z
      .object({ initialDelay: milliseconds(250, 1), maxDelay: milliseconds(5_000, 1) })
      .prefault({}),
    /** Debug-log each statement with its duration. */
    logQueries: z.boolean().default(false),
    /** Include parameter values in query logs (they may hold personal data). */
    logParameters: z.boolean().default(false),
    /** Connections per tenant pool (PostgreSQL). */
    tenantPoolMax: z.number().int().min(1).default(2),
  })
  .superRefine((options, ctx) => {
    const fromUrl = options.url ? providerOfUrl(options.url) : undefined;
    if (options.provider && fromUrl && fromUrl !== options.provider) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `a ${options.provider} URL (provider is "${options.provider}", the URL names ${fromUrl})`,
      });
    }
    const provider = options.provider ?? fromUrl ?? 'pglite';
    if (options.url !== undefined && isPlainPath(options.url) && provider !== 'sqlite') {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `${URL_EXAMPLES} (a plain file path like "./app.db" is a SQLite file: set provider: "sqlite")`,
      });
    }
    if ((provider === 'postgres' || provider === 'mysql') && !options.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `a connection URL for provider "${provider}" (or DATABASE_URL)`,
      });
    }
    if (options.pool.min > options.pool.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['pool', 'min'],
        message: `at most pool.max (${options.pool.max})`,
      });
    }
    if (options.schema && DIALECT_OF[provider] !== 'postgresql') {
      ctx.addIssue({
        code: 'custom',
        path: ['schema'],
        message: 'no schema: schemas apply to postgres and pglite only',
      });
    }
  })
  .transform((options) => {
    const provider =
      options.provider ?? (options.url ? providerOfUrl(options.url) : undefined) ?? 'pglite';
    return { ...options, provider, dialect: DIALECT_OF[provider] };
  });

export type DatabaseOptions = z.input<typeof databaseOptionsSchema>;
export type DatabaseConfig = z.output<typeof databaseOptionsSchema>;
