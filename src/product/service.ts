import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createApp, type App } from '../core/app.js';
import { readEnv } from '../core/config.js';
import type { ServerPlugin } from '../core/plugin.js';
import { gatewayAdapter } from '../plugins/auth/adapters/gateway.js';
import { createAuthPlugin } from '../plugins/auth/index.js';
import { createCachePlugin } from '../plugins/cache/index.js';
import { createConfigPlugin } from '../plugins/config/index.js';
import { createDatabasePlugin } from '../plugins/database/index.js';
import { createHealthPlugin } from '../plugins/health/index.js';
import { createLogsPlugin } from '../plugins/logs/index.js';
import { SERVICE_ENV } from './env.js';

/** One API service of a product: its own plugins on the framework's infrastructure. */
export interface ServiceDefinition {
  /** The app's name, in logs and health answers. */
  name: string;
  /** The product's own plugins: routes, pages, jobs. `req.context.version` is the release. */
  plugins: ServerPlugin<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * The database when `DATABASE_URL` is unset: `pglite` or `sqlite` (embedded, under the data
   * folder), a server's URL, or `false` for none. Default `pglite`.
   */
  database?: DatabaseDefault;
}

/** What a process of the service runs with: each one defaults to its variable (SERVICE_ENV). */
export interface ServiceSettings {
  port?: number;
  host?: string;
  version?: string;
  dataDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** The gateway's key of the identity it forwards: the service trusts what it signs, nothing else. */
  forwardSecret?: string;
  managementToken?: string;
  /** Where unset settings come from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** An embedded database by kind, or a server's URL (`postgres://...`, `mysql://...`). */
export type DatabaseDefault = 'pglite' | 'sqlite' | false | (string & {});

/** The URL a database default means in a data folder; undefined for none. */
export function databaseUrlOf(database: DatabaseDefault = 'pglite', dataDir: string) {
  if (database === false) return undefined;
  if (database === 'pglite') return `pglite:${path.join(dataDir, 'pglite')}`;
  if (database === 'sqlite') return `sqlite:${path.join(dataDir, 'app.db')}`;
  return database;
}

/**
 * An API service behind a qwickapps gateway: health, logs, config, the database (embedded by
 * default, `DATABASE_URL` for a server), the cache (memory, `REDIS_URL` for Redis), and the
 * signed-in user the gateway forwards. Settings win over the environment; invalid variables fail
 * here, each named.
 * @example createService({ name: 'shop-api', plugins: [api] }, { port: 0 }).start()
 */
export function createService(definition: ServiceDefinition, settings: ServiceSettings = {}): App {
  const env = readEnv(SERVICE_ENV, settings.env ?? process.env);
  const version = settings.version ?? env.VERSION ?? 'v1';
  const dataDir = path.resolve(settings.dataDir ?? env.DATA_DIR ?? '.data');
  const databaseUrl =
    settings.databaseUrl ?? env.DATABASE_URL ?? databaseUrlOf(definition.database, dataDir);
  const redisUrl = settings.redisUrl ?? env.REDIS_URL;
  // Without the gateway's key nobody is signed in: a random one verifies nothing it receives.
  const forwardSecret =
    settings.forwardSecret ?? env.AUTH_FORWARD_SECRET ?? randomBytes(32).toString('base64url');
  return createApp({
    name: definition.name,
    version,
    port: settings.port ?? env.PORT,
    host: settings.host ?? env.HOST,
    management: { token: settings.managementToken ?? env.MANAGEMENT_TOKEN },
    logger: { file: { path: path.join(dataDir, 'logs', `${definition.name}.log`) } },
    plugins: [
      createHealthPlugin(),
      createLogsPlugin(),
      createConfigPlugin(),
      ...(databaseUrl === undefined ? [] : [createDatabasePlugin({ url: databaseUrl })]),
      createCachePlugin(redisUrl ? { url: redisUrl } : {}),
      createAuthPlugin({ providers: [gatewayAdapter({ secret: forwardSecret })], forward: false }),
      ...definition.plugins,
    ],
  });
}
