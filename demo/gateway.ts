import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { definePlugin, type EnvSpec } from '../src/index.js';
import { createGateway, type Gateway } from '../src/gateway/index.js';
import { createApiKeysPlugin } from '../src/plugins/api-keys/index.js';
import { createAuthPlugin } from '../src/plugins/auth/index.js';
import { createRolesPlugin } from '../src/plugins/roles/index.js';
import { createUsersPlugin } from '../src/plugins/users/index.js';
import {
  createCachePlugin,
  createDatabasePlugin,
  createTrafficPlugin,
} from '../src/plugins/index.js';
import { DEMO_ROLES } from './roles.js';
import type { SignIn } from './sign-in.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Compiled (dist/demo/*.js) the service runs as plain node; from source (tests) through tsx.
const compiled = import.meta.url.endsWith('.js');
const repoRoot = compiled ? path.resolve(here, '..', '..') : path.resolve(here, '..');
// `{release}`: an uploaded release's folder (`qwickapps release api v2 <folder>`, a folder laid
// out as this repository: dist/demo/service-main.js), else the repository itself.
const SERVICE_ARGS = compiled
  ? ['{release}/dist/demo/service-main.js']
  : ['--import', 'tsx', '{release}/demo/service-main.ts'];
const PUBLIC_DIR = path.join(repoRoot, 'demo', 'public');

export interface DemoGatewayOptions {
  port?: number;
  host?: string;
  /** The first slot's port; slot-b takes the next but one. Default 3100 (3100, 3102). */
  servicePort?: number;
  /** Traffic options for the api service (tests shorten the waits). */
  traffic?: {
    promotionDelay?: number;
    promotionChecks?: number;
    healthInterval?: number;
    rollbackWindow?: number;
    autoRollback?: boolean;
  };
  /** Where embedded data and logs live. Default `./.data`. */
  dataDir?: string;
  /** The gateway's NDJSON log file. Default `<dataDir>/logs/gateway.log` (`gateway-<port>.log` on another port). */
  logFile?: string;
  /** The control panel password; default `ADMIN_PASSWORD`, else a one-time password in development. */
  adminPassword?: string;
  stdout?: boolean;
  env?: EnvSpec;
  /** Passed to the service process (DATABASE_URL, REDIS_URL, ...). */
  serviceEnv?: Record<string, string>;
  /**
   * A database server for the gateway's users and API keys, and its traffic state
   * (`DATABASE_URL` when it names PostgreSQL or MySQL). On PostgreSQL several gateways share it:
   * the first drives the service slots, the others route as it does and follow every switch. Without one, users and keys live in a
   * SQLite file under `dataDir` (PGlite would cost the always-up gateway a few hundred MiB of
   * memory for a few rows) and the traffic state in a file.
   */
  databaseUrl?: string;
  /**
   * The token the services' management routes take (the gateway hands it to them). Default
   * `MANAGEMENT_TOKEN`, else a random one per run: nothing but this gateway can call them.
   */
  managementToken?: string;
  /**
   * How users sign in (`startSignIn()`): the gateway then runs the auth plugin and forwards the
   * verified identity to the service. Without it nobody signs in; every visitor is anonymous.
   */
  signIn?: SignIn;
  /**
   * The product's public origin, where the provider sends browsers back (`PUBLIC_URL`). Default
   * `http://localhost:<port>`.
   */
  publicUrl?: string;
  /**
   * The key of the forwarded identity, handed to the service processes, which trust only what
   * it signs. Default `AUTH_FORWARD_SECRET`, else a random one per run.
   */
  forwardSecret?: string;
}

/** Where the demo page learns how it signs in. */
export const SIGN_IN_INFO_PATH = '/demo/sign-in';

/**
 * What the demo page needs to know about the sign-in (the login kind, the provider's label),
 * and the stand-in's shutdown. Its start says, in the log, which provider signs users in.
 */
function signInPage(signIn: SignIn | undefined) {
  const info = {
    mode: signIn?.mode ?? 'off',
    label: signIn?.label ?? 'off',
    login: signIn?.login ?? 'none',
  };
  return definePlugin({
    name: 'demo-sign-in',
    onInit(ctx) {
      if (info.mode === 'development')
        ctx.logger.warn(
          { issuer: signIn?.issuer },
          'sign-in runs on a development stand-in for Auth0 in this process: set AUTH0_* or SUPABASE_* for a real provider',
        );
      else if (info.mode === 'off')
        ctx.logger.warn('sign-in is off: no provider is configured, every visitor is anonymous');
      else ctx.logger.info({ provider: info.label }, 'sign-in configured');
    },
    routes: [
      {
        method: 'get',
        path: SIGN_IN_INFO_PATH,
        description: 'How the demo page signs users in',
        handler: (_req, res) => void res.json(info),
      },
    ],
    async onShutdown() {
      await signIn?.close();
    },
  });
}

/**
 * The demo product's GREEN gateway on embedded defaults: the frontend at `/`, the API service
 * at `/api/v1/*` (separate processes in traffic slots, v1 deployed on the first run), the control
 * panel at `/cpanel`, and with `signIn` the auth plugin's login at `/auth/login`, its session and
 * the identity it forwards to the service, the users who signed in, the demo's roles and API keys.
 * The traffic state is a file under `dataDir` (or a table on the database server `databaseUrl`
 * names); its memory cache backs the Cache page.
 */
export function createDemoGateway(options: DemoGatewayOptions = {}): Gateway {
  const dataDir = path.resolve(options.dataDir ?? '.data');
  const servicePort = options.servicePort ?? 3100;
  const traffic = options.traffic ?? {};
  const port = options.port ?? 3101;
  const providers = options.signIn?.providers ?? [];
  const forwardSecret =
    options.forwardSecret ??
    (process.env.AUTH_FORWARD_SECRET || randomBytes(32).toString('base64url'));
  return createGateway({
    name: 'demo-gateway',
    version: '1.0.0',
    port,
    host: options.host ?? '0.0.0.0',
    env: options.env,
    management: {
      token:
        options.managementToken ??
        (process.env.MANAGEMENT_TOKEN || randomBytes(32).toString('base64url')),
    },
    logger: {
      level: 'info',
      stdout: options.stdout ?? false,
      file: {
        // A second gateway beside the first (another PORT) writes a log of its own.
        path:
          options.logFile ??
          path.join(dataDir, 'logs', port === 3101 ? 'gateway.log' : `gateway-${port}.log`),
        maxBytes: 10 * 1024 * 1024,
        maxFiles: 5,
      },
    },
    routing: {
      // The target is where slot-a will answer; the traffic plugin answers 503 until a release is
      // active there, then points the route at the active slot.
      routes: [
        {
          id: 'api',
          match: '/api/v1/*',
          target: `http://127.0.0.1:${servicePort}`,
          health: { path: '/health/ready', interval: 2_000 },
          // Signed in or not, callers reach the API; the service decides which routes need a user.
          ...(providers.length > 0 ? { auth: 'optional' as const } : {}),
        },
      ],
    },
    frontend: { root: PUBLIC_DIR, spa: true },
    controlPanel: {
      branding: { title: 'Demo operations' },
      ...(options.adminPassword ? { password: options.adminPassword } : {}),
    },
    plugins: [
      ...(options.databaseUrl
        ? [createDatabasePlugin({ url: options.databaseUrl })]
        : providers.length > 0
          ? [createDatabasePlugin({ url: `sqlite:${path.join(dataDir, 'gateway.db')}` })]
          : []),
      createCachePlugin({ namespace: 'gateway' }),
      ...(providers.length > 0
        ? [
            createAuthPlugin({
              providers,
              publicUrl: options.publicUrl ?? `http://localhost:${port}`,
              forward: { secret: forwardSecret },
            }),
            // Who has signed in (the Users page), what each role may do (the Roles page and its
            // "why" view), and keys for machines: a CI pipeline deploys with one.
            createUsersPlugin(),
            createRolesPlugin(DEMO_ROLES),
            createApiKeysPlugin(),
          ]
        : []),
      signInPage(options.signIn),
      // The API service runs in slots (3100, 3102): deploy a version beside the active one,
      // promote it once healthy, roll back while the previous stays warm.
      createTrafficPlugin({
        services: [
          {
            name: 'api',
            route: 'api',
            initialVersion: 'v1',
            promotionDelay: traffic.promotionDelay ?? 5_000,
            promotionChecks: traffic.promotionChecks ?? 3,
            healthInterval: traffic.healthInterval ?? 1_000,
          },
        ],
        rollback: {
          window: traffic.rollbackWindow ?? 15 * 60_000,
          automatic: traffic.autoRollback ?? true,
        },
        orchestrator: {
          type: 'process',
          command: process.execPath,
          args: SERVICE_ARGS,
          cwd: repoRoot,
          // PGlite is one process's database: each slot keeps its own folder.
          env: {
            VERSION: '{version}',
            DATA_DIR: path.join(dataDir, '{slot}'),
            AUTH_FORWARD_SECRET: forwardSecret,
            ...options.serviceEnv,
          },
          ports: { from: servicePort, step: 2 },
        },
        // Uploaded releases (`qwickapps release api <version> <folder>`) live with the rest of the data.
        releases: { path: path.join(dataDir, 'releases') },
        // On a database server, a table; otherwise the file (not the users' SQLite file).
        store: {
          type: options.databaseUrl ? 'database' : 'file',
          path: path.join(dataDir, 'traffic-state.json'),
        },
      }),
    ],
  });
}
