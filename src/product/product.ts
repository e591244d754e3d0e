import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../core/app.js';
import { readEnv } from '../core/config.js';
import { runApp } from './run.js';
import { definePlugin, type ServerPlugin } from '../core/plugin.js';
import { createGateway, type Gateway } from '../gateway/index.js';
import { createApiKeysPlugin } from '../plugins/api-keys/index.js';
import { createAuthPlugin } from '../plugins/auth/index.js';
import type { AuthProvider } from '../plugins/auth/types.js';
import { createCachePlugin } from '../plugins/cache/index.js';
import { createDatabasePlugin } from '../plugins/database/index.js';
import { createRolesPlugin } from '../plugins/roles/index.js';
import { createTrafficPlugin } from '../plugins/traffic/index.js';
import { createUsersPlugin } from '../plugins/users/index.js';
import { GATEWAY_ENV, type SignInChoice } from './env.js';
import {
  createService,
  type DatabaseDefault,
  type ServiceDefinition,
  type ServiceSettings,
} from './service.js';
import { signInProviders } from './sign-in.js';

/** The variable that makes the product's entry run one of its services instead of the gateway. */
export const SERVICE_ROLE_ENV = 'QWICKAPPS_SERVICE';

/** A service of a product: its gateway route and its own plugins. */
export interface ProductService extends Omit<ServiceDefinition, 'name'> {
  /** The gateway's route to it, e.g. `/api/v1/*`; the service answers under the same paths. */
  match: string;
}

export interface ProductDefinition {
  /** Lower-case name: the gateway's, and the prefix of its services' (`shop-api`). */
  name: string;
  /** The product's folder (`new URL('..', import.meta.url)`): frontend, entry and `.data` live there. */
  root: string | URL;
  /** The file that calls `product.main()`; the gateway runs it again for each slot. Default `src/main.ts`. */
  entry?: string;
  /** How users sign in; the provider's variables come from the environment. Default `none`. */
  auth?: SignInChoice;
  /** Each role's permissions (wildcards allowed), when users sign in. */
  roles?: Record<string, string[]>;
  /**
   * The services' database when `DATABASE_URL` is unset (see `ServiceDefinition.database`); a
   * server's URL also keeps the gateway's users, keys and traffic state. Default `pglite`.
   */
  database?: DatabaseDefault;
  /** The frontend folder under `root`, served at `/` as a single-page app; `false` for none. */
  frontend?: string | false;
  /** The API services, each in two traffic slots: deploy, promote, roll back. */
  services: Record<string, ProductService>;
}

/** What one run of the gateway uses; each setting defaults to its variable (GATEWAY_ENV). */
export interface GatewaySettings {
  port?: number;
  host?: string;
  dataDir?: string;
  /** The first slot's port; slots take every other port from there. */
  servicePort?: number;
  databaseUrl?: string;
  redisUrl?: string;
  adminPassword?: string;
  managementToken?: string;
  forwardSecret?: string;
  publicUrl?: string;
  /** Sign-in providers instead of those `auth` names (tests bring their own issuer). */
  providers?: AuthProvider[];
  /** Traffic timing for every service (tests shorten the waits). */
  traffic?: { promotionDelay?: number; promotionChecks?: number; healthInterval?: number };
  env?: NodeJS.ProcessEnv;
}

export interface Product {
  readonly definition: ProductDefinition;
  /** The gateway: the frontend, every service's route and slots, the control panel, sign-in. */
  gateway(settings?: GatewaySettings): Gateway;
  /** One service's app, as a slot runs it. */
  service(name: string, settings?: ServiceSettings): App;
  /**
   * Runs the product: the gateway, or with `QWICKAPPS_SERVICE` set (as the gateway starts its
   * slots) that service. A bad variable is printed, each named, and the process exits 1.
   */
  main(env?: NodeJS.ProcessEnv): Promise<App | undefined>;
}

const random = () => randomBytes(32).toString('base64url');
const isServer = (url: string | undefined) => url !== undefined && /^(postgres|mysql)/.test(url);

/**
 * A whole product from one definition: the gateway preset with traffic slots for each service,
 * and with a sign-in provider the auth, users, roles and API keys plugins on the gateway's
 * database (the `DATABASE_URL` server, else a SQLite file). Everything else has a default.
 * @example
 * export const product = defineProduct({
 *   name: 'shop', root: new URL('..', import.meta.url), auth: 'auth0',
 *   services: { api: { match: '/api/v1/*', plugins: [api] } },
 * });
 */
export function defineProduct(definition: ProductDefinition): Product {
  const root = definition.root instanceof URL ? fileURLToPath(definition.root) : definition.root;
  const names = Object.keys(definition.services);
  const serviceOf = (name: string) => {
    const service = definition.services[name];
    if (!service)
      throw new Error(`${definition.name} has no service "${name}" (${names.join(', ')})`);
    return service;
  };
  const product: Product = {
    definition,
    gateway: (settings = {}) => assembleGateway(definition, root, settings),
    service: (name, settings = {}) =>
      createService(
        { database: definition.database, ...serviceOf(name), name: `${definition.name}-${name}` },
        settings,
      ),
    main: (env = process.env) => {
      const role = env[SERVICE_ROLE_ENV];
      return runApp(() => (role ? product.service(role, { env }) : product.gateway({ env })));
    },
  };
  return product;
}

/**
 * On a database server the traffic state is shared: a second gateway joins the first and routes
 * to the slots it started, which trust only the first one's keys. Random keys per run would
 * differ, so the second's signed-in callers would reach the service anonymous.
 */
const sharedKeysNotice = definePlugin({
  name: 'product-notices',
  onInit(ctx) {
    ctx.logger.warn(
      'AUTH_FORWARD_SECRET or MANAGEMENT_TOKEN is unset (random per run) while the traffic state is shared on the database server: set both, the same on every gateway, to run several',
    );
  },
});

function assembleGateway(
  definition: ProductDefinition,
  root: string,
  settings: GatewaySettings,
): Gateway {
  const source = settings.env ?? process.env;
  const env = readEnv(GATEWAY_ENV, source);
  const dataDir = path.resolve(root, settings.dataDir ?? env.DATA_DIR ?? '.data');
  const servicePort = settings.servicePort ?? env.SERVICE_PORT;
  const named = isServer(definition.database || undefined)
    ? (definition.database as string)
    : undefined;
  const databaseUrl = settings.databaseUrl ?? env.DATABASE_URL ?? named;
  const redisUrl = settings.redisUrl ?? env.REDIS_URL;
  const providers =
    settings.providers ?? signInProviders(definition.auth ?? 'none', definition.name, source);
  const forwardSecret = settings.forwardSecret ?? env.AUTH_FORWARD_SECRET ?? random();
  const entry = path.resolve(root, definition.entry ?? 'src/main.ts');
  // `{release}`: a release uploaded with `qwickapps release` (a folder laid out as `root`), else
  // `root` itself, where each service runs.
  const entryArg = `{release}/${path.relative(root, entry)}`;
  const services = Object.entries(definition.services);
  const signedIn = providers.length > 0;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const plugins: ServerPlugin<any>[] = [createCachePlugin({ namespace: 'gateway' })];
  if (signedIn || isServer(databaseUrl))
    plugins.push(
      createDatabasePlugin({
        url: isServer(databaseUrl) ? databaseUrl : `sqlite:${path.join(dataDir, 'gateway.db')}`,
      }),
    );
  if (signedIn)
    plugins.push(
      createAuthPlugin({
        providers,
        forward: { secret: forwardSecret },
        ...((settings.publicUrl ?? env.PUBLIC_URL)
          ? { publicUrl: settings.publicUrl ?? env.PUBLIC_URL }
          : {}),
      }),
      createUsersPlugin(),
      createRolesPlugin({ permissions: definition.roles ?? {} }),
      createApiKeysPlugin(),
    );
  const keysLeftToChance =
    !(settings.forwardSecret ?? env.AUTH_FORWARD_SECRET) ||
    !(settings.managementToken ?? env.MANAGEMENT_TOKEN);
  if (isServer(databaseUrl) && keysLeftToChance) plugins.push(sharedKeysNotice);
  const passed: Record<string, string> = { AUTH_FORWARD_SECRET: forwardSecret };
  // A server is shared by every slot; an embedded database is each slot's own (its DATA_DIR), so
  // the gateway's embedded URL is not handed down (empty reads as unset, over the inherited one).
  passed.DATABASE_URL = isServer(databaseUrl) ? databaseUrl! : '';
  if (redisUrl) passed.REDIS_URL = redisUrl;
  plugins.push(
    createTrafficPlugin({
      services: services.map(([name]) => ({
        name,
        route: name,
        initialVersion: 'v1',
        ...settings.traffic,
        release: {
          command: process.execPath,
          args: entry.endsWith('.ts') ? ['--import', 'tsx', entryArg] : [entryArg],
          cwd: root,
          // PGlite is one process's database: each slot keeps its own folder.
          env: {
            ...passed,
            [SERVICE_ROLE_ENV]: name,
            VERSION: '{version}',
            DATA_DIR: path.join(dataDir, name, '{slot}'),
          },
        },
      })),
      orchestrator: { type: 'process', ports: { from: servicePort, step: 2 } },
      // Under the product's folder whatever DATA_DIR says: a release finds the product's
      // node_modules (tsx, the framework) by walking up from its own folder.
      releases: { path: path.join(root, '.data', 'releases') },
      store: isServer(databaseUrl)
        ? { type: 'database' }
        : { type: 'file', path: path.join(dataDir, 'traffic-state.json') },
    }),
  );
  return createGateway({
    name: definition.name,
    port: settings.port ?? env.PORT,
    host: settings.host ?? env.HOST,
    management: { token: settings.managementToken ?? env.MANAGEMENT_TOKEN ?? random() },
    logger: { file: { path: path.join(dataDir, 'logs', 'gateway.log') } },
    routing: {
      routes: services.map(([name, service], index) => ({
        id: name,
        match: service.match,
        // Slot-a of each service until the traffic plugin points the route at the active slot.
        target: `http://127.0.0.1:${servicePort + index * 4}`,
        // Signed in or not, callers reach the service; it decides which routes need a user.
        ...(signedIn ? { auth: 'optional' as const } : {}),
      })),
    },
    frontend:
      definition.frontend === false
        ? false
        : { root: path.join(root, definition.frontend ?? 'public'), spa: true },
    controlPanel: { password: settings.adminPassword ?? env.ADMIN_PASSWORD },
    plugins,
  });
}
