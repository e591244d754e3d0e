import { z } from 'zod';
import { durationSchema, type Duration } from '../../core/duration.js';
import { releaseLimitsShape } from '../../core/releases/options.js';

/**
 * Build tools name fingerprinted assets `name.<hash>.ext` or `name-<hash>.ext` (Vite: `index-B2x_k9Qa.js`).
 * The hash is 8+ characters and holds a digit or a capital, so `react-dom.production.js` is not one.
 */
export const DEFAULT_HASH_PATTERN = /[.-](?=[\w-]*[0-9A-Z])[\w-]{8,}\.[A-Za-z0-9]+$/;
/** Milliseconds a file lookup (exists? precompressed siblings?) is remembered. */
export const DEFAULT_LOOKUP_CACHE_TTL = 2_000;
/** Most file lookups remembered at once; the oldest go first. */
export const DEFAULT_LOOKUP_CACHE_SIZE = 10_000;
/** Paths never answered with the SPA's index.html: management APIs and probes must 404 properly. */
export const DEFAULT_SPA_EXCLUDE = ['/api', '/health'];

const mountPath = z
  .string()
  .regex(
    /^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/,
    'a path like "/" or "/app" (no trailing slash, no wildcards)',
  )
  .default('/');

const releaseName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'a release name of letters, digits, ".", "_" or "-"',
  );

export const staticOptionsSchema = z.strictObject({
  root: z.string().min(1, 'the folder to serve (or the folder holding releases/<version>/)'),
  spa: z.boolean().default(false),
  mountPath,
  /** The file served for a directory and as the SPA fallback; `false` for neither. */
  index: z
    .union([z.string().regex(/^[^/\\]+$/, 'a file name like "index.html"'), z.literal(false)])
    .default('index.html'),
  cache: z
    .strictObject({
      /** How long browsers may reuse files that are neither hashed nor HTML: `'1d'`, or milliseconds. */
      maxAge: durationSchema({ unit: 'ms', max: Number.MAX_SAFE_INTEGER }).default(0),
      /** Fingerprinted assets are cached for a year and marked immutable. */
      immutable: z.boolean().default(true),
      hashPattern: z
        .instanceof(RegExp, { error: 'a regular expression' })
        .default(DEFAULT_HASH_PATTERN),
    })
    .prefault({}),
  /** Serve `file.gz` when the client accepts gzip (files are precompressed at build time). */
  gzip: z.boolean().default(true),
  /** Serve `file.br` when the client accepts brotli; preferred over gzip. */
  brotli: z.boolean().default(true),
  /** `root` holds `<version>/` folders with one active; `auto` detects it. */
  releases: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  /** The release to start with when no `current` file records one; default the highest version. */
  release: releaseName.optional(),
  spaExclude: z.array(z.string().startsWith('/')).default(DEFAULT_SPA_EXCLUDE),
  /**
   * GET /api/static/releases, PUT /api/static/releases/:version (an upload),
   * POST /api/static/releases/:version/activate and POST /api/static/releases/rollback (admin
   * access), on the one static plugin that provides the `static` service.
   */
  adminRoutes: z.boolean().default(true),
  /** Releases uploaded with `qwickapps release frontend` (PUT /api/static/releases/:version). */
  uploads: z
    .strictObject({
      ...releaseLimitsShape,
      /**
       * With releases in a MySQL database: how often each gateway reads the active release's
       * revision, so an activation through another reaches it within about this long (PostgreSQL
       * is told at once, by NOTIFY). Default 250 ms.
       */
      pollInterval: durationSchema({ unit: 'ms', min: 50, max: 60_000 }).default(250),
    })
    .prefault({}),
  lookupCacheTtl: durationSchema({ unit: 'ms', max: Number.MAX_SAFE_INTEGER }).default(
    DEFAULT_LOOKUP_CACHE_TTL,
  ),
  lookupCacheSize: z.number().int().positive().default(DEFAULT_LOOKUP_CACHE_SIZE),
});

export type StaticConfig = z.output<typeof staticOptionsSchema>;

export { releaseName as releaseNameSchema };

export interface StaticPluginOptions {
  /**
   * The plugin's name. Default `static`; a second static plugin in one app needs a name of its
   * own, e.g. `static:/docs`. The one named `static` (or, without one, the first to start)
   * provides the `static` service and the releases API.
   */
  name?: string;
  /** The folder to serve, or a releases folder holding `<version>/` folders. */
  root: string;
  /** Answer GET/HEAD requests for unknown extension-less paths that accept text/html with `index`. Default false. */
  spa?: boolean;
  /** Default `/`. */
  mountPath?: string;
  /** Default `index.html`; `false` disables directory indexes and the SPA fallback. */
  index?: string | false;
  cache?: {
    /**
     * How long browsers may reuse files neither hashed nor HTML: `'1d'`, `'1h'`, or a number of
     * milliseconds (sent as whole seconds in `max-age`). Default 0 (revalidate with ETag).
     */
    maxAge?: Duration;
    /** Default true: hashed assets get `public, max-age=31536000, immutable`. */
    immutable?: boolean;
    /** Default {@link DEFAULT_HASH_PATTERN}, tested against the file name. */
    hashPattern?: RegExp;
  };
  /** Default true: serve precompressed `.gz` siblings. */
  gzip?: boolean;
  /** Default true: serve precompressed `.br` siblings. */
  brotli?: boolean;
  /** Default `auto`: releases when `root` has a `current` file, or no index but `<version>/index.html` folders. */
  releases?: boolean | 'auto';
  /** The release to start with when no `current` file exists. Default: the highest version name. */
  release?: string;
  /** Path prefixes never given the SPA fallback. Default `['/api', '/health']`. */
  spaExclude?: string[];
  /** The releases API (admin access), on the static plugin that provides the `static` service. Default true. */
  adminRoutes?: boolean;
  /**
   * Uploaded releases (`qwickapps release frontend <version> ./dist`): the largest archive in
   * bytes (default 256 MiB), the most bytes and entries once unpacked (1 GiB, 100 000), and how
   * many uploads are kept (default 5; the active release and the rollback target always stay).
   */
  uploads?: {
    maxBytes?: number;
    maxUnpackedBytes?: number;
    maxEntries?: number;
    keep?: number;
    /**
     * `auto` (default): in the database plugin's database when it is PostgreSQL or MySQL, so
     * every gateway on it serves the same releases and follows each activation and rollback
     * (each materialises a release under `<root>/.shared/`); else in `root`. `disk` keeps them
     * in `root` even then; `database` requires such a database.
     */
    store?: 'auto' | 'disk' | 'database';
    /** MySQL: how often each gateway looks for an activation made through another. Default 250 ms. */
    pollInterval?: Duration;
  };
  /** How long a file lookup is remembered: `'2s'`, or milliseconds. Default 2000; 0 looks every time. */
  lookupCacheTtl?: Duration;
  /** Default 10 000 entries. */
  lookupCacheSize?: number;
}
