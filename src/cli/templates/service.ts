import { defaultDatabaseUrl, type EnvLine, type ProductSpec } from './product-files.js';

/**
 * The `service` template: one API service behind an existing gateway, which signs the identity
 * it forwards. `src/service.ts` is the configuration; `src/routes.ts` the product's own API.
 * The `product` template reuses these files for its `api` service.
 */

export function serviceEnv(spec: ProductSpec): EnvLine[] {
  const embedded = spec.database === 'pglite' || spec.database === 'sqlite';
  return [
    { name: 'PORT', description: 'Port the service listens on', example: '3100' },
    { name: 'HOST', description: 'Interface the service binds', example: '127.0.0.1' },
    { name: 'VERSION', description: 'The release this process runs', example: 'v1' },
    { name: 'DATA_DIR', description: 'Folder for embedded data and logs', example: '.data' },
    {
      name: 'DATABASE_URL',
      description: embedded
        ? `Database (default ${defaultDatabaseUrl(spec.database).replace('.data', '<DATA_DIR>')})`
        : 'Database server',
      ...(embedded ? {} : { example: defaultDatabaseUrl(spec.database) }),
    },
    { name: 'REDIS_URL', description: 'Redis for the cache instead of memory (redis://host:6379)' },
    {
      name: 'AUTH_FORWARD_SECRET',
      description:
        "The gateway's key (32+ characters) for the identity it forwards; unset: nobody is signed in",
    },
    {
      name: 'MANAGEMENT_TOKEN',
      description:
        'Bearer token (32+ characters) for /api/* management routes; the gateway sets it',
    },
  ];
}

export const SERVICE_ENDPOINTS = [
  '`GET /api/v1/hello?name=Ada`: a greeting and the running version',
  '`GET /api/v1/stats`: the database and cache it runs on, and a counter kept in the cache',
  '`GET /api/v1/me`: the signed-in user the gateway forwarded (401 when anonymous)',
  '`GET /health`, `/health/live`, `/health/ready`: probes',
  '`GET /api/health`, `/api/config`, `/api/logs`: management (`MANAGEMENT_TOKEN`)',
];

export function serviceFiles(spec: ProductSpec): Map<string, string> {
  return new Map([
    ['src/service.ts', serviceFile(spec)],
    ['src/routes.ts', routesFile()],
    ['src/main.ts', serviceMainFile()],
    ['src/service.test.ts', serviceTestFile(spec)],
    ['src/test-support/identity.ts', identityFile()],
  ]);
}

/** The `database` option a choice means: an embedded kind, or the usual local server. */
export function databaseOption(spec: ProductSpec): string {
  return spec.database === 'pglite' || spec.database === 'sqlite'
    ? `'${spec.database}'`
    : `'${defaultDatabaseUrl(spec.database)}'`;
}

function serviceFile(spec: ProductSpec): string {
  return `import { createService, type ServiceSettings } from '@qwickapps/server/product';
import { api } from './routes.js';

/**
 * ${spec.name}'s API service, behind a gateway: health, logs, config, the database, the cache and
 * the user the gateway forwards. Settings default to the variables in .env.example.
 */
export const service = (settings?: ServiceSettings) =>
  createService({ name: '${spec.name}-api', database: ${databaseOption(spec)}, plugins: [api] }, settings);
`;
}

function routesFile(): string {
  return `import { definePlugin } from '@qwickapps/server';
import { requireUser } from '@qwickapps/server/plugins/auth';

/** The service's own API, under /api/v1 (the gateway's route for it). */
export const api = definePlugin({
  name: 'api',
  version: '0.1.0',
  dependencies: ['auth', 'database', 'cache'],
  routes: [
    {
      method: 'get',
      path: '/api/v1/hello',
      description: 'A greeting, and the release that answered',
      handler: (req, res) => {
        const name = typeof req.query.name === 'string' ? req.query.name.slice(0, 64) : 'world';
        res.json({ message: \`Hello, \${name}!\`, version: req.context.version });
      },
    },
    {
      method: 'get',
      path: '/api/v1/stats',
      description: 'The database and cache the service runs on, and a counter in the cache',
      handler: async (req, res) => {
        const database = req.context.services.get('database');
        const cache = req.context.services.get('cache');
        await database.ping();
        const views = ((await cache.get<number>('views')) ?? 0) + 1;
        await cache.set('views', views);
        res.json({ database: database.dialect, cache: (await cache.stats()).provider, views });
      },
    },
    {
      method: 'get',
      path: '/api/v1/me',
      description: 'The signed-in user, as the gateway forwarded it (401 when anonymous)',
      handler: [requireUser(), (req, res) => void res.json(req.user)],
    },
  ],
});
`;
}

function serviceMainFile(): string {
  return `import { runApp } from '@qwickapps/server/product';
import { service } from './service.js';

await runApp(() => service());
`;
}

/** A stand-in for the gateway's signature, in the shape its gatewayAdapter verifies. */
function identityFile(): string {
  return `import { createHmac } from 'node:crypto';

/**
 * The identity a qwickapps gateway forwards (header x-qwickapps-identity): a short-lived HS256
 * token signed with AUTH_FORWARD_SECRET. Tests sign one to call the service as that user.
 */
export function forwardedIdentity(secret: string, subject: string, roles: string[] = []): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const user = { id: \`test|\${subject}\`, provider: 'test', issuer: 'test', roles, permissions: [] };
  const claims = { sub: subject, iss: 'qwickapps-gateway', aud: 'qwickapps-service', iat: now };
  const payload = encode({ ...claims, exp: now + 60, qwickapps_user: user });
  const body = \`\${encode({ alg: 'HS256', typ: 'JWT' })}.\${payload}\`;
  return \`\${body}.\${createHmac('sha256', secret).update(body).digest('base64url')}\`;
}
`;
}

function serviceTestFile(spec: ProductSpec): string {
  return `import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '@qwickapps/server';
${
  spec.template === 'product'
    ? "import { product } from './product.js';"
    : "import { service } from './service.js';"
}
import { forwardedIdentity } from './test-support/identity.js';

const TOKEN = 'a-management-token-of-32-characters-or-more';
const SECRET = randomBytes(32).toString('base64url');
let app: App;
let base: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), '${spec.name}-'));
  const settings = { port: 0, dataDir, forwardSecret: SECRET, managementToken: TOKEN };
  app = ${spec.template === 'product' ? "product.service('api', settings)" : 'service(settings)'};
  await app.start();
  base = \`http://127.0.0.1:\${(app.server.address() as AddressInfo).port}\`;
}, 60_000);
afterAll(async () => {
  await app?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('${spec.name} service', () => {
  it('greets on /api/v1/hello with its version', async () => {
    const response = await fetch(\`\${base}/api/v1/hello?name=Ada\`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'Hello, Ada!', version: 'v1' });
  });

  it('counts views in the cache, on its database', async () => {
    const first = (await (await fetch(\`\${base}/api/v1/stats\`)).json()) as { views: number };
    const second = (await (await fetch(\`\${base}/api/v1/stats\`)).json()) as { views: number };
    expect(second.views).toBe(first.views + 1);
  });

  it('knows the user the gateway forwarded, and nobody else', async () => {
    expect((await fetch(\`\${base}/api/v1/me\`)).status).toBe(401);
    const forged = { 'x-qwickapps-identity': forwardedIdentity('x'.repeat(32), 'mallory') };
    expect((await fetch(\`\${base}/api/v1/me\`, { headers: forged })).status).toBe(401);
    const headers = { 'x-qwickapps-identity': forwardedIdentity(SECRET, 'ada', ['editor']) };
    const response = await fetch(\`\${base}/api/v1/me\`, { headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ subject: 'ada', roles: ['editor'] });
  });

  it('answers its probes', async () => {
    for (const probe of ['/health', '/health/live', '/health/ready'])
      expect((await fetch(\`\${base}\${probe}\`)).status, probe).toBe(200);
  });

  it('serves health, config and logs to the management token only', async () => {
    const auth = { headers: { authorization: \`Bearer \${TOKEN}\` } };
    for (const route of ['/api/health', '/api/config', '/api/logs']) {
      expect((await fetch(\`\${base}\${route}\`, auth)).status, route).toBe(200);
      expect((await fetch(\`\${base}\${route}\`)).status, route).toBe(401);
    }
  });
});
`;
}
