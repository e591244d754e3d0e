/**
 * `npm start`: the demo product. The gateway listens on http://localhost:3101 (PORT overrides
 * it) and runs the API service in traffic slots, as separate processes on 3100 and 3102
 * (SERVICE_PORT moves them); v1 is deployed on the first run. It says the demo is running once
 * the API answers (a release is active), or why not after READY_TIMEOUT. Invalid configuration
 * fails at once, naming every bad variable, before anything listens.
 */
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, readEnv } from '../src/index.js';
import { waitForFirstRelease } from './first-release.js';
import { createDemoGateway } from './gateway.js';

const port = (fallback: number, description: string) => ({
  schema: z.coerce.number().int().min(1).max(65535).default(fallback),
  description,
});
const DEMO_ENV = {
  PORT: port(3101, 'Port the gateway listens on'),
  SERVICE_PORT: port(
    3100,
    'Port of the first API service slot (the second takes the next but one)',
  ),
  HOST: {
    schema: z.string().min(1).default('0.0.0.0'),
    description: 'Interface the gateway binds',
  },
  DATA_DIR: {
    schema: z.string().min(1).default('.data'),
    description: 'Folder for embedded data and logs',
  },
  DATABASE_URL: {
    schema: z.string().min(1).optional(),
    description:
      "PostgreSQL or MySQL for the service instead of embedded PGlite, and for the gateway's traffic state instead of a file",
  },
  REDIS_URL: {
    schema: z.string().min(1).optional(),
    description: 'Redis for the service instead of the memory cache',
  },
  READY_TIMEOUT: {
    schema: z.coerce.number().int().positive().default(90_000),
    description:
      "Milliseconds to wait for the API service's first release to become active before saying why it did not",
  },
};

try {
  const env = readEnv(DEMO_ENV);
  const serviceEnv: Record<string, string> = {};
  if (env.DATABASE_URL) serviceEnv.DATABASE_URL = env.DATABASE_URL;
  if (env.REDIS_URL) serviceEnv.REDIS_URL = env.REDIS_URL;
  // Only a database server is worth the gateway's while; an embedded one is the service's alone.
  const databaseUrl =
    env.DATABASE_URL && /^(postgres(ql)?|mysql|mariadb):/i.test(env.DATABASE_URL)
      ? env.DATABASE_URL
      : undefined;
  const gateway = createDemoGateway({
    port: env.PORT,
    servicePort: env.SERVICE_PORT,
    host: env.HOST,
    dataDir: env.DATA_DIR,
    env: DEMO_ENV,
    serviceEnv,
    databaseUrl,
  });
  await gateway.start();
  const url = gateway.context.url()!;
  // "Running" means the API answers: the gateway routes nothing to a release before it is active.
  const release = await waitForFirstRelease(
    gateway.context.services.get('traffic'),
    'api',
    env.READY_TIMEOUT,
  );
  if (!release.active) {
    console.error(
      `\n  the demo gateway is up at ${url}, but the API service is not: ${release.reason}.`,
    );
    console.error(
      `  ${url}/api/v1/hello answers 503 until a release is active. Service logs: ${path.join(env.DATA_DIR, 'logs')}/service-*.log; deploy again with: npm run qwickapps -- deploy api v1\n`,
    );
  } else {
    const active = release.view.active!;
    console.log(
      `\n  demo is running (gateway ${url}; API ${active.version} active in ${active.slot}; service slots on ports ${env.SERVICE_PORT} and ${env.SERVICE_PORT + 2})\n`,
    );
  }
  console.log(`  frontend       ${url}/`);
  console.log(`  API            ${url}/api/v1/hello   ${url}/api/v1/stats`);
  console.log(`  control panel  ${url}/cpanel`);
  console.log(`  probes         ${url}/health   ${url}/health/live   ${url}/health/ready`);
  console.log(
    `  management     ${url}/api/health   /api/diagnostics   /api/config   /api/logs (guarded)`,
  );
  console.log(
    `  slot admin     /api/* on the slot ports need Authorization: Bearer $MANAGEMENT_TOKEN (random per run unless set)`,
  );
  console.log(
    `  deployments    npm run qwickapps -- status | deploy api v2 | promote api | rollback api\n`,
  );
} catch (error) {
  console.error(
    error instanceof ConfigError
      ? error.message
      : `The demo failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
