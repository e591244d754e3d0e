/**
 * `npm start`: the demo product. The gateway listens on http://localhost:3101 (PORT overrides
 * it) and runs the API service in traffic slots, as separate processes on 3100 and 3102
 * (SERVICE_PORT moves them); v1 is deployed on the first run. It says the demo is running once
 * the API answers (a release is active), or why not after READY_TIMEOUT. Invalid configuration
 * fails at once, naming every bad variable, before anything listens.
 *
 * Replicas: with DATABASE_URL at PostgreSQL, a second `PORT=3111 npm start` beside the first
 * joins it: it routes /api/v1/* to the slots the first started (it starts none), and every
 * deploy, promote and rollback made through either reaches both within a second. If the first
 * stops, the second takes the slots over.
 *
 * Sign-in: AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and AUTH0_AUDIENCE for an Auth0
 * tenant, or SUPABASE_URL and SUPABASE_ANON_KEY (SUPABASE_JWT_SECRET for a legacy HS256 project)
 * for Supabase. With neither, development runs a local stand-in for Auth0 in this process and
 * prints its user and one-time password; production runs without login (no crash: every visitor
 * is anonymous, /api/v1/me answers 401).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, inspectEnv, secret, type EnvValues } from '../src/index.js';
import { waitForFirstRelease } from './first-release.js';
import { sharedDemoSecrets } from './shared-secrets.js';
import { createDemoGateway } from './gateway.js';
import { SIGN_IN_ENV, signInIssues, startSignIn } from './sign-in.js';

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
    description:
      "Redis for the service instead of the memory cache, and for the gateway's control panel sessions and rate limits (shared by every gateway)",
  },
  READY_TIMEOUT: {
    schema: z.coerce.number().int().positive().default(90_000),
    description:
      "Milliseconds to wait for the API service's first release to become active before saying why it did not",
  },
  PUBLIC_URL: {
    schema: z
      .string()
      .url()
      .refine((value) => new URL(value).pathname === '/', 'an origin without a path')
      .optional(),
    description:
      'The public origin browsers use (https://demo.example.com): where the provider sends them back after login',
  },
  AUTH_FORWARD_SECRET: {
    schema: secret(z.string().min(32)).optional(),
    description:
      'Key of the identity the gateway forwards to the service (random per run when unset; with a PostgreSQL DATABASE_URL, made once and shared by every gateway on it, as MANAGEMENT_TOKEN is)',
  },
  ...SIGN_IN_ENV,
};

/** Every variable's own problems and those they have together, in one error. */
function readDemoEnv(): EnvValues<typeof DEMO_ENV> {
  const { values, issues } = inspectEnv(DEMO_ENV);
  issues.push(...signInIssues(values as Record<string, string | undefined>));
  if (issues.length > 0) throw new ConfigError(issues);
  return values as EnvValues<typeof DEMO_ENV>;
}

try {
  const env = readDemoEnv();
  const serviceEnv: Record<string, string> = {};
  if (env.DATABASE_URL) serviceEnv.DATABASE_URL = env.DATABASE_URL;
  if (env.REDIS_URL) serviceEnv.REDIS_URL = env.REDIS_URL;
  // Only a database server is worth the gateway's while; an embedded one is the service's alone.
  const databaseUrl =
    env.DATABASE_URL && /^(postgres(ql)?|mysql|mariadb):/i.test(env.DATABASE_URL)
      ? env.DATABASE_URL
      : undefined;
  // The provider sends browsers back here: the host they opened, or their cookies are elsewhere.
  const host =
    env.HOST === '0.0.0.0' || env.HOST === '::'
      ? 'localhost'
      : env.HOST.includes(':')
        ? `[${env.HOST}]`
        : env.HOST;
  const publicUrl = (env.PUBLIC_URL ?? `http://${host}:${env.PORT}`).replace(/\/$/, '');
  // Gateways on one PostgreSQL share the slots, so they must share the keys the slots trust.
  const shared =
    databaseUrl && /^postgres(ql)?:/i.test(databaseUrl)
      ? await sharedDemoSecrets(databaseUrl)
      : undefined;
  const signIn = await startSignIn(env, {
    production: process.env.NODE_ENV === 'production',
    publicUrl,
  });
  // As the control panel's one-time password: on the terminal only, never in a log file.
  for (const user of signIn.users)
    process.stdout.write(
      `\nSign-in stand-in for Auth0 (development only): user "${user.login}" (${user.role}), password ${user.password}\n`,
    );
  if (signIn.users.length > 0) process.stdout.write('\n');
  const gateway = createDemoGateway({
    signIn,
    publicUrl,
    forwardSecret:
      env.AUTH_FORWARD_SECRET ?? shared?.forwardSecret ?? randomBytes(32).toString('base64url'),
    managementToken: process.env.MANAGEMENT_TOKEN || shared?.managementToken,
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
  const role = gateway.context.services.get('traffic').role();
  if (role !== 'standalone')
    console.log(
      role === 'leader'
        ? `  replicas       this gateway drives the service slots; more gateways on this DATABASE_URL (PORT=3111 npm start) follow it`
        : `  replicas       this gateway follows the one that drives the service slots (shared state on DATABASE_URL); it starts none itself`,
    );

  // What the gateway says at start-up of itself (the limits in force; trustProxy unset): its log
  // file has it, and so does the control panel's Config page.
  for (const notice of gateway.context.config.notices())
    console.log(`  ${notice.scope.padEnd(14)} ${notice.message}`);
  console.log(`  frontend       ${url}/`);
  console.log(`  API            ${url}/api/v1/hello   ${url}/api/v1/stats`);
  console.log(`  control panel  ${url}/cpanel`);
  console.log(`  sign-in        ${publicUrl}/auth/login   (${signIn.label})`);
  if (signIn.providers.length > 0)
    console.log(
      `  content        ${url}/api/v1/content   (editors write, viewers read; panel pages Users, Roles, API keys)`,
    );
  console.log(`  probes         ${url}/health   ${url}/health/live   ${url}/health/ready`);
  console.log(
    `  management     ${url}/api/health   /api/diagnostics   /api/config   /api/logs (guarded)`,
  );
  console.log(
    `  slot admin     /api/* on the slot ports need Authorization: Bearer $MANAGEMENT_TOKEN (random per run unless set)`,
  );
  console.log(
    `  deployments    npm run qwickapps -- status | deploy api v2 | promote api | rollback api`,
  );
  console.log(
    `  CI deploys     QWICKAPPS_TOKEN=<a key scoped to traffic:deploy:api> npm run qwickapps -- deploy api v2\n`,
  );
} catch (error) {
  console.error(
    error instanceof ConfigError
      ? error.message
      : `The demo failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
