import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type HttpError,
  PluginLifecycleError,
  createApp,
  type App,
} from '../../index.js';
import { baseUrl, captureLogs } from '../../../test/support/http.js';
import { importDriver } from './driver.js';
import { createDatabasePlugin, type DatabaseOptions } from './index.js';
import {
  TARGETS,
  removeTempDirs,
  startApp,
  tempDir,
  type Sandbox,
} from './test-support/targets.js';

afterAll(removeTempDirs);
const apps: App[] = [];
const dirs: string[] = [];
const sandboxes: Sandbox[] = [];
const postgres = TARGETS.find((target) => target.provider === 'postgres')!;
const savedUrl = process.env.DATABASE_URL;
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
});

function configIssues(options: DatabaseOptions): ConfigError {
  try {
    createApp({ name: 't', logger: { level: 'silent' }, plugins: [createDatabasePlugin(options)] });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('database configuration', () => {
  it('refuses an unknown provider, naming the option', () => {
    const error = configIssues({ provider: 'oracle' as never });
    expect(error.issues.map((issue) => issue.name)).toEqual(['plugins.database.provider']);
    expect(error.message).toContain('"oracle"');
  });

  it('refuses an unparsable DATABASE_URL, naming the variable and what it got', () => {
    process.env.DATABASE_URL = 'postgres//db.example/app';
    const error = configIssues({});
    expect(error.issues.map((issue) => issue.name)).toEqual(['DATABASE_URL']);
    expect(error.message).toMatch(
      /DATABASE_URL: expected a database URL such as postgres:\/\/user:pass@host:5432\/db/,
    );
    expect(error.message).toContain('received "postgres//db.example/app"');
  });

  it('names the option for a bad url given in code, and a url that contradicts the provider', () => {
    expect(configIssues({ url: 'mysql://' }).issues.map((issue) => issue.name)).toEqual([
      'plugins.database.url',
    ]);
    const mismatch = configIssues({ provider: 'sqlite', url: 'postgres://db.example:5432/app' });
    expect(mismatch.issues[0]).toMatchObject({ name: 'plugins.database.url' });
    expect(mismatch.issues[0].expected).toContain('the URL names postgres');
    expect(configIssues({ provider: 'postgres' }).issues[0].expected).toContain('DATABASE_URL');
  });

  it('opens a SQLite file given as a plain path, as drizzle-kit and better-sqlite3 users write it', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const file = `./${path.relative(process.cwd(), path.join(dir, 'app.db'))}`;
    const { app, db } = await startApp({ provider: 'sqlite', url: file });
    apps.push(app);
    if (!db.is('sqlite')) throw new Error(`expected sqlite, got ${db.dialect}`);
    db.drizzle.run(sql`CREATE TABLE kept (id integer PRIMARY KEY)`);
    db.drizzle.run(sql`INSERT INTO kept VALUES (7)`);
    const body = (await (await fetch(`${baseUrl(app)}/api/database`)).json()) as {
      provider: string;
      target: string;
    };
    expect(body).toMatchObject({ provider: 'sqlite', target: file });
    await app.stop();
    const again = await startApp({ provider: 'sqlite', url: path.join(dir, 'app.db') });
    apps.push(again.app);
    if (!again.db.is('sqlite')) throw new Error('expected sqlite');
    expect(again.db.drizzle.all(sql`SELECT id FROM kept`)).toEqual([{ id: 7 }]);
  });

  it('opens SQLite in memory for url ":memory:"', async () => {
    const { app, db } = await startApp({ provider: 'sqlite', url: ':memory:' });
    apps.push(app);
    const body = (await (await fetch(`${baseUrl(app)}/api/database`)).json()) as {
      provider: string;
      target: string;
    };
    expect([db.provider, body.target]).toEqual(['sqlite', 'memory']);
  });

  it('refuses a plain path for a provider other than SQLite, saying which provider it needs', () => {
    for (const options of [
      { url: './app.db' },
      { provider: 'postgres', url: './app.db' },
    ] as const) {
      const error = configIssues(options);
      expect(error.issues.map((issue) => issue.name)).toEqual(['plugins.database.url']);
      expect(error.issues[0].expected).toContain('set provider: "sqlite"');
    }
  });

  it('takes healthCheck: true, false or an object with durations', async () => {
    const off = await startApp({ provider: 'sqlite', url: ':memory:', healthCheck: false });
    apps.push(off.app);
    expect(off.app.context.health.summary().checks).toEqual([]);
    const on = await startApp({ provider: 'sqlite', url: ':memory:', healthCheck: true });
    apps.push(on.app);
    expect(
      on.app.context.health.summary().checks.map((check) => `${check.name}:${check.status}`),
    ).toEqual(['database:healthy']);
    const tuned = configIssues({
      healthCheck: { interval: '10 seconds' as never },
      connectTimeout: '5s',
      startupTimeout: '1 minute' as never,
    });
    // Each bad duration is named where it is, the nested one included.
    expect(tuned.issues.map((issue) => issue.name)).toEqual([
      'plugins.database.healthCheck.interval',
      'plugins.database.startupTimeout',
    ]);
  });

  it('infers the provider from DATABASE_URL when none is given', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    process.env.DATABASE_URL = `sqlite:${path.join(dir, 'from-env.db')}`;
    const { app, db } = await startApp({});
    apps.push(app);
    expect(db.provider).toBe('sqlite');
    const body = (await (await fetch(`${baseUrl(app)}/api/database`)).json()) as {
      provider: string;
      target: string;
    };
    expect(body).toMatchObject({ provider: 'sqlite', target: path.join(dir, 'from-env.db') });
  });

  it.skipIf(!postgres.available)('never shows the password on GET /api/database', async () => {
    const sandbox = await postgres.sandbox();
    sandboxes.push(sandbox);
    const url = new URL(sandbox.options.url!);
    url.password = 'hunter2'; // the test server trusts local connections, so any password works
    const { app } = await startApp({ ...sandbox.options, url: url.toString() });
    apps.push(app);
    const text = await (await fetch(`${baseUrl(app)}/api/database`)).text();
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toMatchObject({
      provider: 'postgres',
      target: '127.0.0.1:5432',
      url: expect.stringContaining(':********@'),
    });
  });

  it('defaults to PGlite in memory', async () => {
    delete process.env.DATABASE_URL;
    const { app, db } = await startApp({});
    apps.push(app);
    expect([db.provider, db.dialect]).toEqual(['pglite', 'postgresql']);
  });

  it.each(['postgres', 'mysql'] as const)(
    'retries a refused %s connection with backoff for startupTimeout, then fails naming host and port',
    async (provider) => {
      const port = await closedPort();
      const logs = captureLogs();
      const app = createApp({
        name: 't',
        port: 0,
        host: '127.0.0.1',
        logger: { destination: logs.stream, level: 'info', stdout: false },
        shutdown: { signals: false },
        plugins: [
          createDatabasePlugin({
            url: `${provider}://root@127.0.0.1:${port}/test`,
            startupTimeout: 800,
            startupRetry: { initialDelay: 100 },
          }),
        ],
      });
      apps.push(app);
      const began = Date.now();
      const failure = (await app.start().catch((error: unknown) => error)) as PluginLifecycleError;
      expect(Date.now() - began).toBeGreaterThanOrEqual(800);
      expect(failure).toBeInstanceOf(PluginLifecycleError);
      expect(failure.message).toContain(`Cannot connect to ${provider} at 127.0.0.1:${port}`);
      expect((failure.cause as HttpError).code).toBe('DATABASE_UNREACHABLE');
      const retries = logs.lines.filter(
        (line) => line.msg === 'database not reachable yet; retrying',
      );
      expect(retries.length).toBeGreaterThanOrEqual(2);
      // Exponential backoff: each wait doubles until the window closes.
      expect(retries[1].retryInMs).toBe(200);
      expect(app.server.listening).toBe(false);
    },
  );

  it('fails start-up with a ConfigError naming the migrations option when its folder is missing', async () => {
    const missing = path.join(os.tmpdir(), 'qwickapps-no-such-migrations');
    const failure = (await startApp({ url: 'memory://', migrations: missing }).catch(
      (error: unknown) => error,
    )) as PluginLifecycleError;
    expect(failure).toBeInstanceOf(PluginLifecycleError);
    const cause = failure.cause as ConfigError;
    expect(cause).toBeInstanceOf(ConfigError);
    expect(cause.issues[0]).toMatchObject({
      name: 'plugins.database.migrations',
      expected: 'a readable folder of .sql migrations',
    });
    expect(cause.issues[0].received).toContain(missing);
  });

  it('says which package to install when a driver is missing', async () => {
    const missing = 'qwickapps-no-such-driver';
    const failure = (await importDriver(missing, 'postgres', () => import(missing)).catch(
      (error: unknown) => error,
    )) as ConfigError;
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.issues[0].name).toBe('plugins.database.url');
    expect(failure.message).toContain(
      `the ${missing} package installed to use provider postgres (npm install ${missing})`,
    );
  });
});
