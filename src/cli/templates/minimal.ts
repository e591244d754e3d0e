import type { EnvLine, ProductSpec } from './product-files.js';

/**
 * The `minimal` template: one createApp with health, logs and one route. `src/app.ts` is the
 * product's configuration; `src/main.ts` reads the environment and starts it.
 */

export const MINIMAL_ENV: EnvLine[] = [
  { name: 'PORT', description: 'Port the app listens on', example: '3000' },
  { name: 'HOST', description: 'Interface the app binds', example: '127.0.0.1' },
  { name: 'DATA_DIR', description: 'Folder for the log files', example: '.data' },
  {
    name: 'MANAGEMENT_TOKEN',
    description: 'Bearer token (32+ characters) for /api/logs from other hosts; unset: local only',
  },
];

export function minimalFiles(spec: ProductSpec): Map<string, string> {
  return new Map([
    ['src/app.ts', appFile(spec)],
    ['src/main.ts', mainFile(spec)],
    ['src/app.test.ts', testFile(spec)],
  ]);
}

export const MINIMAL_ENDPOINTS = [
  '`GET /api/hello?name=Ada`: `{ "message": "Hello, Ada!" }`',
  '`GET /health`, `/health/live`, `/health/ready`: probes',
  '`GET /api/health`, `GET /api/logs` (local callers, or `MANAGEMENT_TOKEN`): status and logs',
];

function appFile(spec: ProductSpec): string {
  return `import path from 'node:path';
import { createApp, definePlugin, type App } from '@qwickapps/server';
import { createHealthPlugin, createLogsPlugin } from '@qwickapps/server/plugins';

export interface ProductOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  managementToken?: string;
}

const hello = definePlugin({
  name: 'hello',
  routes: [
    {
      method: 'get',
      path: '/api/hello',
      description: 'A greeting',
      handler: (req, res) => {
        const name = typeof req.query.name === 'string' ? req.query.name.slice(0, 64) : 'world';
        res.json({ message: \`Hello, \${name}!\` });
      },
    },
  ],
});

/** ${spec.name}: one app with health, logs and one route. */
export function createProduct(options: ProductOptions = {}): App {
  return createApp({
    name: '${spec.name}',
    port: options.port ?? 3000,
    host: options.host ?? '127.0.0.1',
    management: { token: options.managementToken },
    logger: { file: { path: path.join(options.dataDir ?? '.data', 'logs', 'app.log') } },
    plugins: [createHealthPlugin(), createLogsPlugin(), hello],
  });
}
`;
}

/** The entry of `npm start`: validated variables, a one-line failure naming every bad one. */
export function mainFile(spec: ProductSpec): string {
  return `import { z } from 'zod';
import { ConfigError, readEnv, secret } from '@qwickapps/server';
import { createProduct } from './app.js';

const ENV = {
  PORT: { schema: z.coerce.number().int().min(0).max(65535).default(3000), description: 'Port' },
  HOST: { schema: z.string().min(1).default('127.0.0.1'), description: 'Interface' },
  DATA_DIR: { schema: z.string().min(1).default('.data'), description: 'Folder for the logs' },
  MANAGEMENT_TOKEN: {
    schema: secret(z.string().min(32)).optional(),
    description: 'Bearer token for the management routes',
  },
};

try {
  const env = readEnv(ENV);
  const app = createProduct({
    port: env.PORT,
    host: env.HOST,
    dataDir: env.DATA_DIR,
    managementToken: env.MANAGEMENT_TOKEN,
  });
  await app.start();
  console.log(\`${spec.name} listening on \${app.context.url()}\`);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
`;
}

function testFile(spec: ProductSpec): string {
  return `import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '@qwickapps/server';
import { createProduct } from './app.js';

const TOKEN = 'a-management-token-of-32-characters-or-more';
let app: App;
let base: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), '${spec.name}-'));
  app = createProduct({ port: 0, dataDir, managementToken: TOKEN });
  await app.start();
  base = \`http://127.0.0.1:\${(app.server.address() as AddressInfo).port}\`;
});
afterAll(async () => {
  await app?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('${spec.name}', () => {
  it('greets on /api/hello', async () => {
    const response = await fetch(\`\${base}/api/hello?name=Ada\`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'Hello, Ada!' });
  });

  it('answers its probes', async () => {
    for (const probe of ['/health', '/health/live', '/health/ready'])
      expect((await fetch(\`\${base}\${probe}\`)).status, probe).toBe(200);
  });

  it('serves health and logs to the management token only', async () => {
    const auth = { headers: { authorization: \`Bearer \${TOKEN}\` } };
    expect((await fetch(\`\${base}/api/health\`, auth)).status).toBe(200);
    expect((await fetch(\`\${base}/api/logs\`, auth)).status).toBe(200);
    expect((await fetch(\`\${base}/api/logs\`)).status).toBe(401);
  });
});
`;
}
