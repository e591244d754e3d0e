/**
 * The demo service as a process of its own: the gateway starts it with PORT (and VERSION).
 */
import { z } from 'zod';
import { ConfigError, readEnv, secret } from '../src/index.js';
import { createDemoService } from './service.js';

const SERVICE_ENV = {
  PORT: {
    schema: z.coerce.number().int().min(0).max(65535).default(3100),
    description: 'Port the service listens on',
  },
  HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    description: 'Interface the service binds',
  },
  VERSION: {
    schema: z
      .string()
      .regex(/^[\w.-]{1,32}$/)
      .default('v1'),
    description: 'The release this process runs',
  },
  DATA_DIR: {
    schema: z.string().min(1).default('.data'),
    description: 'Folder for embedded data and logs',
  },
  DATABASE_URL: {
    schema: z.string().min(1).optional(),
    description: 'PostgreSQL or MySQL instead of embedded PGlite',
  },
  REDIS_URL: {
    schema: z.string().min(1).optional(),
    description: 'Redis instead of the memory cache',
  },
  AUTH_FORWARD_SECRET: {
    schema: secret(z.string().min(32)).optional(),
    description: "The gateway's key for the identity it forwards (the gateway sets it)",
  },
};

try {
  const env = readEnv(SERVICE_ENV);
  const app = createDemoService({
    port: env.PORT,
    host: env.HOST,
    version: env.VERSION,
    dataDir: env.DATA_DIR,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    forwardSecret: env.AUTH_FORWARD_SECRET,
    env: SERVICE_ENV,
  });
  await app.start();
  console.log(`demo-api ${env.VERSION} listening on ${app.context.url()}`);
} catch (error) {
  console.error(
    error instanceof ConfigError
      ? error.message
      : `The demo service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
