/**
 * `npm start`: the demo product on http://localhost:3101 (PORT overrides it). Invalid
 * configuration fails at once, naming every bad variable, before anything listens.
 */
import { z } from 'zod';
import { ConfigError, readEnv } from '../src/index.js';
import { createDemoApp } from './app.js';

const DEMO_ENV = {
  PORT: { schema: z.coerce.number().int().min(0).max(65535).default(3101), description: 'Port the demo listens on' },
  HOST: { schema: z.string().min(1).default('0.0.0.0'), description: 'Interface the demo binds' },
  DATA_DIR: { schema: z.string().min(1).default('.data'), description: 'Folder for embedded data and logs' },
};

try {
  const env = readEnv(DEMO_ENV);
  const app = createDemoApp({ port: env.PORT, host: env.HOST, dataDir: env.DATA_DIR, stdout: false });
  await app.start();
  const url = app.context.url()!;
  console.log(`\n  demo is running\n`);
  console.log(`  API          ${url}/api/v1/hello`);
  console.log(`  health       ${url}/health/ready   ${url}/api/health`);
  console.log(`  diagnostics  ${url}/api/diagnostics`);
  console.log(`  config       ${url}/api/config`);
  console.log(`  logs         ${url}/api/logs   (live: ${url}/api/logs/stream)\n`);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error('The demo failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
}
