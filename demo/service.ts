import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createApp, definePlugin, type App, type EnvSpec } from '../src/index.js';
import { createAuthPlugin, gatewayAdapter, requireUser } from '../src/plugins/auth/index.js';
import {
  createCachePlugin,
  createConfigPlugin,
  createDatabasePlugin,
  createDiagnosticsPlugin,
  createHealthPlugin,
  createLogsPlugin,
} from '../src/plugins/index.js';
import { createRolesPlugin } from '../src/plugins/roles/index.js';
import { createContentPlugin } from './content.js';
import { createHelloPlugin } from './hello.js';
import { DEMO_ROLES } from './roles.js';

export interface DemoServiceOptions {
  port?: number;
  host?: string;
  /** The release this process runs (`v1`, `v2`); `/api/v1/hello` reports it. */
  version?: string;
  /** Where embedded data and logs live. Default `./.data`. */
  dataDir?: string;
  /** `DATABASE_URL`: PostgreSQL or MySQL instead of the embedded PGlite. */
  databaseUrl?: string;
  /** `REDIS_URL`: Redis instead of the in-process memory cache. */
  redisUrl?: string;
  stdout?: boolean;
  env?: EnvSpec;
  /**
   * The gateway's forward secret (`AUTH_FORWARD_SECRET`): the service trusts the identity the
   * gateway signed with it, and nothing else. Default a random one: nobody is signed in.
   */
  forwardSecret?: string;
}

/** Who the caller is, as the gateway verified and forwarded it. */
const me = definePlugin({
  name: 'demo-me',
  dependencies: ['auth'],
  routes: [
    {
      method: 'get',
      path: '/api/v1/me',
      description: 'The signed-in user, as the gateway forwarded it (401 when anonymous)',
      handler: [
        requireUser(),
        (req, res) => {
          res.setHeader('cache-control', 'no-store');
          res.json(req.user);
        },
      ],
    },
  ],
});

/** What the data layer looks like from the service: shows both plugins are wired. */
const stats = definePlugin({
  name: 'demo-stats',
  dependencies: ['database', 'cache'],
  routes: [
    {
      method: 'get',
      path: '/api/v1/stats',
      description: 'Which database and cache the service runs on, and a counter kept in the cache',
      handler: async (req, res) => {
        const database = req.context.services.get('database');
        const cache = req.context.services.get('cache');
        const started = performance.now();
        await database.ping();
        const pingMs = Math.round((performance.now() - started) * 100) / 100;
        const views = ((await cache.get<number>('demo:views')) ?? 0) + 1;
        await cache.set('demo:views', views);
        res.json({
          database: { provider: database.provider, dialect: database.dialect, pingMs },
          cache: { provider: (await cache.stats()).provider, views },
        });
      },
    },
  ],
});

/**
 * The demo product's API service: health, diagnostics, config, logs, database (embedded PGlite,
 * or `DATABASE_URL`), cache (memory, or `REDIS_URL`), the identity the gateway forwards, roles,
 * and a small API (`/api/v1/hello`, `/api/v1/me`, `/api/v1/content` for editors and viewers). The gateway runs it as a separate process and reaches it only over HTTP.
 */
export function createDemoService(options: DemoServiceOptions = {}): App {
  const dataDir = path.resolve(options.dataDir ?? '.data');
  const version = options.version ?? 'v1';
  const port = options.port ?? 3100;
  // PGlite is one process's database: each service process (each slot) gets its own folder.
  const databaseUrl =
    options.databaseUrl ?? `pglite:${path.join(dataDir, `service-${port}`, 'pglite')}`;
  return createApp({
    name: 'demo-api',
    version,
    port,
    host: options.host ?? '127.0.0.1',
    env: options.env,
    logger: {
      level: 'info',
      stdout: options.stdout ?? false,
      file: {
        path: path.join(dataDir, 'logs', `service-${port}.log`),
        maxBytes: 10 * 1024 * 1024,
        maxFiles: 3,
      },
    },
    shutdown: { readinessDelay: 1_000 },
    plugins: [
      createHealthPlugin(),
      createDiagnosticsPlugin(),
      createConfigPlugin(),
      createLogsPlugin(),
      createDatabasePlugin({ url: databaseUrl }),
      createCachePlugin(
        options.redisUrl ? { url: options.redisUrl, namespace: 'demo' } : { namespace: 'demo' },
      ),
      // Callers are whoever the gateway says (a token only it can sign); the gateway keeps
      // the session, the user's own tokens never reach the service.
      createAuthPlugin({
        providers: [
          gatewayAdapter({
            secret: options.forwardSecret ?? randomBytes(32).toString('base64url'),
          }),
        ],
        forward: false,
      }),
      // The same roles as the gateway's: the identity it forwards carries the user's roles.
      createRolesPlugin(DEMO_ROLES),
      createHelloPlugin(version),
      createContentPlugin(),
      stats,
      me,
    ],
  });
}
