import { productTestFile } from './product-test.js';
import { serviceEnv, serviceFiles } from './service.js';
import type { AuthChoice, EnvLine, ProductSpec } from './product-files.js';

/**
 * The `product` template: a gateway with the control panel, the `api` service (the service
 * template's files) in traffic slots run by the process orchestrator, a static frontend, and
 * with an auth provider the users, roles and API keys plugins. `src/gateway.ts` and
 * `src/service.ts` are the configuration; `src/sign-in.ts` turns the provider's variables into
 * its adapter.
 */

const PROVIDER_ENV: Record<AuthChoice, EnvLine[]> = {
  none: [],
  dev: [
    {
      name: 'DEV_AUTH_SECRET',
      description:
        'Development sign-in: HS256 key (32+ characters) of bearer tokens with iss "dev"; random per run when unset',
    },
  ],
  auth0: [
    { name: 'AUTH0_DOMAIN', description: 'Auth0 tenant domain (example.us.auth0.com)' },
    { name: 'AUTH0_CLIENT_ID', description: "The Auth0 application's client id" },
    { name: 'AUTH0_CLIENT_SECRET', description: "The Auth0 application's client secret" },
    { name: 'AUTH0_AUDIENCE', description: "The Auth0 API's identifier (the tokens' aud)" },
  ],
  supabase: [
    { name: 'SUPABASE_URL', description: 'Supabase project URL (https://<ref>.supabase.co)' },
    { name: 'SUPABASE_ANON_KEY', description: "The Supabase project's anon (publishable) key" },
  ],
};

export function productEnv(spec: ProductSpec): EnvLine[] {
  const service = serviceEnv(spec).filter(
    (line) => !['PORT', 'HOST', 'VERSION', 'MANAGEMENT_TOKEN'].includes(line.name),
  );
  return [
    { name: 'PORT', description: 'Port the gateway listens on', example: '3000' },
    { name: 'HOST', description: 'Interface the gateway binds', example: '127.0.0.1' },
    {
      name: 'SERVICE_PORT',
      description: "The api service's first slot port (the second takes the next but one)",
      example: '3100',
    },
    {
      name: 'ADMIN_PASSWORD',
      description: 'Control panel password (user admin); a one-time one is printed when unset',
    },
    {
      name: 'MANAGEMENT_TOKEN',
      description:
        'Bearer token (32+ characters) for the management and traffic APIs; random per run when unset',
    },
    ...service,
    ...PROVIDER_ENV[spec.auth],
  ];
}

export const PRODUCT_ENDPOINTS = [
  '`GET /`: the frontend (`public/`)',
  '`GET /api/v1/hello`, `/api/v1/stats`, `/api/v1/me`: the `api` service, through the gateway',
  '`/cpanel`: the control panel (user `admin`, `ADMIN_PASSWORD`)',
  '`/cpanel/api/traffic/*`: deploy, promote and roll back the `api` service (`npx qwickapps status`)',
  '`GET /health`, `/health/live`, `/health/ready`: probes',
];

export function productFiles(spec: ProductSpec): Map<string, string> {
  const files = serviceFiles(spec);
  files.set('src/gateway.ts', gatewayFile(spec));
  files.set('src/sign-in.ts', signInFile(spec));
  files.set('src/main.ts', mainFile(spec));
  files.set('src/product.test.ts', productTestFile(spec));
  files.set('public/index.html', indexHtml(spec));
  return files;
}

/** The gateway's own database: the server the product names, else a small SQLite file. */
function gatewayDatabase(spec: ProductSpec): string {
  return spec.database === 'postgres' || spec.database === 'mysql'
    ? 'options.databaseUrl'
    : '`sqlite:${dataDir}/gateway.db`';
}

function gatewayFile(spec: ProductSpec): string {
  const signedIn = spec.auth !== 'none';
  const imports = signedIn
    ? `import { createApiKeysPlugin } from '@qwickapps/server/plugins/api-keys';
import { createAuthPlugin } from '@qwickapps/server/plugins/auth';
import { createRolesPlugin } from '@qwickapps/server/plugins/roles';
import { createUsersPlugin } from '@qwickapps/server/plugins/users';
`
    : '';
  const authPlugins = signedIn
    ? `
      plugins.createDatabasePlugin({ url: ${gatewayDatabase(spec)} }),
      createAuthPlugin({ providers: options.providers, forward: { secret: forwardSecret } }),
      createUsersPlugin(),
      createRolesPlugin({ permissions: { admin: ['*'], viewer: ['read:*'] } }),
      createApiKeysPlugin(),`
    : '';
  return `import { createGateway, type Gateway } from '@qwickapps/server/gateway';
${imports}import * as plugins from '@qwickapps/server/plugins';
import { ROOT, SERVICE_COMMAND, type GatewayOptions } from './sign-in.js';

/** ${spec.name}: the frontend at /, the api service in traffic slots at /api/v1, the panel at /cpanel. */
export function createProductGateway(options: GatewayOptions): Gateway {
  const { dataDir = \`\${ROOT}/.data\`, servicePort = 3100, forwardSecret } = options;
  const serviceEnv = { AUTH_FORWARD_SECRET: forwardSecret, ...options.serviceEnv };
  const api = { id: 'api', match: '/api/v1/*', target: \`http://127.0.0.1:\${servicePort}\` };
  return createGateway({
    name: '${spec.name}',
    port: options.port ?? 3000,
    host: options.host ?? '127.0.0.1',
    management: { token: options.managementToken },
    logger: { file: { path: \`\${dataDir}/logs/gateway.log\` } },
    routing: { routes: [${signedIn ? "{ ...api, auth: 'optional' }" : 'api'}] },
    frontend: { root: \`\${ROOT}/public\`, spa: true },
    controlPanel: { password: options.adminPassword },
    plugins: [${authPlugins}
      plugins.createCachePlugin({}),
      plugins.createTrafficPlugin({
        services: [{ name: 'api', route: 'api', initialVersion: 'v1', ...options.traffic }],
        orchestrator: {
          ...SERVICE_COMMAND,
          env: { VERSION: '{version}', DATA_DIR: \`\${dataDir}/{slot}\`, ...serviceEnv },
          ports: { from: servicePort, step: 2 },
        },
        store: { type: 'file', path: \`\${dataDir}/traffic-state.json\` },
      }),
    ],
  });
}
`;
}

function providerCode(auth: AuthChoice): { imports: string; body: string } {
  if (auth === 'dev')
    return {
      imports: `import { jwtAdapter } from '@qwickapps/server/plugins/auth';\n`,
      body: `  // Development only: bearer tokens signed with DEV_AUTH_SECRET (iss "dev", aud AUDIENCE).
  return [
    jwtAdapter({
      issuer: 'dev',
      audience: AUDIENCE,
      secret: env.DEV_AUTH_SECRET!,
      algorithms: ['HS256'],
    }),
  ];`,
    };
  if (auth === 'auth0')
    return {
      imports: `import { auth0Adapter } from '@qwickapps/server/plugins/auth';\n`,
      body: `  return [
    auth0Adapter({
      domain: env.AUTH0_DOMAIN,
      clientId: env.AUTH0_CLIENT_ID,
      clientSecret: env.AUTH0_CLIENT_SECRET,
      audience: env.AUTH0_AUDIENCE,
    }),
  ];`,
    };
  if (auth === 'supabase')
    return {
      imports: `import { supabaseAdapter } from '@qwickapps/server/plugins/auth';\n`,
      body: `  return [supabaseAdapter({ url: env.SUPABASE_URL ?? '', anonKey: env.SUPABASE_ANON_KEY ?? '' })];`,
    };
  return { imports: '', body: '  return [];' };
}

function signInFile(spec: ProductSpec): string {
  const provider = providerCode(spec.auth);
  return `import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthProvider } from '@qwickapps/server/plugins/auth';
${provider.imports}
/** The product's folder: the frontend, the service's entry and the embedded data live there. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** How the process orchestrator starts a release of the api service. */
export const SERVICE_COMMAND = {
  type: 'process' as const,
  command: process.execPath,
  args: ['--import', 'tsx', path.join(ROOT, 'src', 'service-main.ts')],
  cwd: ROOT,
};

/** The audience of the development sign-in's tokens. */
export const AUDIENCE = '${spec.name}';

export interface GatewayOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  servicePort?: number;
  providers: AuthProvider[];
  forwardSecret: string;
  managementToken: string;
  adminPassword?: string;
  databaseUrl?: string;
  serviceEnv?: Record<string, string>;
  /** Traffic options for the api service (tests shorten the waits). */
  traffic?: { promotionDelay?: number; promotionChecks?: number; healthInterval?: number };
}

/** The sign-in providers the variables name (${spec.auth}). */
export function providersOf(env: Record<string, string | undefined>): AuthProvider[] {
${spec.auth === 'none' ? '  void env;\n' : ''}${provider.body}
}
`;
}

function mainFile(spec: ProductSpec): string {
  return `import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, readEnv, secret } from '@qwickapps/server';
import { createProductGateway } from './gateway.js';
import { providersOf } from './sign-in.js';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const key = secret(z.string().min(32)).optional();
const ENV = {
  PORT: { schema: port(3000), description: 'Gateway port' },
  HOST: { schema: z.string().min(1).default('127.0.0.1'), description: 'Interface' },
  SERVICE_PORT: { schema: port(3100), description: "The api service's first slot port" },
  DATA_DIR: { schema: z.string().min(1).optional(), description: 'Embedded data and logs' },
  DATABASE_URL: { schema: z.string().min(1).optional(), description: 'Database server' },
  REDIS_URL: { schema: z.string().min(1).optional(), description: 'Redis for the service' },
  ADMIN_PASSWORD: { schema: secret(z.string().min(8)).optional(), description: 'Panel password' },
  MANAGEMENT_TOKEN: { schema: key, description: 'Management and traffic API token' },
  AUTH_FORWARD_SECRET: { schema: key, description: 'Key of the forwarded identity' },
${spec.auth === 'dev' ? "  DEV_AUTH_SECRET: { schema: key, description: 'Development sign-in key' },\n" : ''}};

try {
  const env = readEnv(ENV);
  const random = () => randomBytes(32).toString('base64url');
  const serviceEnv: Record<string, string> = {};
  if (env.DATABASE_URL) serviceEnv.DATABASE_URL = env.DATABASE_URL;
  if (env.REDIS_URL) serviceEnv.REDIS_URL = env.REDIS_URL;
  const gateway = createProductGateway({
    port: env.PORT,
    host: env.HOST,
    servicePort: env.SERVICE_PORT,
    dataDir: env.DATA_DIR,
    databaseUrl: env.DATABASE_URL,
    serviceEnv,
    adminPassword: env.ADMIN_PASSWORD,
    managementToken: env.MANAGEMENT_TOKEN ?? random(),
    forwardSecret: env.AUTH_FORWARD_SECRET ?? random(),
    providers: providersOf(${spec.auth === 'dev' ? '{ ...process.env, DEV_AUTH_SECRET: env.DEV_AUTH_SECRET ?? random() }' : 'process.env'}),
  });
  await gateway.start();
  console.log(\`${spec.name} listening on \${gateway.context.url()} (control panel /cpanel)\`);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
`;
}

function indexHtml(spec: ProductSpec): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${spec.name}</title>
  </head>
  <body>
    <h1>${spec.name}</h1>
    <p>The API answers at <a href="/api/v1/hello">/api/v1/hello</a>.</p>
  </body>
</html>
`;
}
