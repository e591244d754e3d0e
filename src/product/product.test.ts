import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, definePlugin, type App } from '../index.js';
import { createService, defineProduct, SERVICE_ROLE_ENV } from './index.js';

const TOKEN = 'a-management-token-of-32-characters-or-more';
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'qwickapps-product-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** A route that says which release answered and which database it runs on. */
const api = definePlugin({
  name: 'api',
  dependencies: ['database'],
  routes: [
    {
      method: 'get',
      path: '/api/v1/where',
      description: 'The release and the database',
      handler: (req, res) =>
        void res.json({
          version: req.context.version,
          database: req.context.services.get('database').dialect,
        }),
    },
  ],
});

const shop = (auth: 'none' | 'dev' | 'auth0' = 'none') =>
  defineProduct({
    name: 'shop',
    root: dataDir,
    auth,
    roles: { admin: ['*'] },
    database: 'sqlite',
    frontend: false,
    services: { api: { match: '/api/v1/*', plugins: [api] } },
  });

/** The ConfigError a call throws, or a failure when it throws none. */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const names = (error: ConfigError) => error.issues.map((issue) => issue.name).sort();

describe('defineProduct: the gateway', () => {
  it('fails naming every bad variable at once', () => {
    const error = configError(() =>
      shop().gateway({ env: { PORT: 'abc', ADMIN_PASSWORD: 'short', MANAGEMENT_TOKEN: 'x' } }),
    );
    expect(names(error)).toEqual(['ADMIN_PASSWORD', 'MANAGEMENT_TOKEN', 'PORT']);
    // A secret's value never appears in the message.
    expect(error.message).not.toContain('short');
  });

  it("requires the sign-in provider's variables, each named", () => {
    const error = configError(() => shop('auth0').gateway({ env: {} }));
    expect(names(error)).toEqual(['AUTH0_AUDIENCE', 'AUTH0_DOMAIN']);
  });

  it('assembles sign-in, users, roles and keys only when users sign in', () => {
    const plugins = (app: App) => app.context.plugins().map((plugin) => plugin.name);
    const anonymous = plugins(shop().gateway({ env: {} }));
    expect(anonymous).toEqual(expect.arrayContaining(['routing', 'control-panel', 'traffic']));
    for (const name of ['auth', 'users', 'roles', 'api-keys', 'database'])
      expect(anonymous).not.toContain(name);
    const signedIn = plugins(shop('dev').gateway({ env: {} }));
    expect(signedIn).toEqual(
      expect.arrayContaining(['auth', 'users', 'roles', 'api-keys', 'database', 'traffic']),
    );
  });
});

describe('defineProduct: on a database server', () => {
  it('keeps users and traffic there, and warns when the keys every gateway must share are random', () => {
    const plugins = (env: NodeJS.ProcessEnv) =>
      shop('dev')
        .gateway({ env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', ...env } })
        .context.plugins()
        .map((plugin) => plugin.name);
    expect(plugins({})).toEqual(expect.arrayContaining(['database', 'product-notices']));
    const keys = { AUTH_FORWARD_SECRET: 'f'.repeat(32), MANAGEMENT_TOKEN: 'm'.repeat(32) };
    expect(plugins(keys)).not.toContain('product-notices');
    expect(
      shop('dev')
        .gateway({ env: {} })
        .context.plugins()
        .map((p) => p.name),
    ).not.toContain('product-notices');
  });
});

describe('defineProduct: a service, and main()', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    process.exitCode = undefined;
  });

  it('runs the service QWICKAPPS_SERVICE names, with its release and embedded database', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    app = await shop().main({
      [SERVICE_ROLE_ENV]: 'api',
      PORT: '0',
      VERSION: 'v7',
      DATA_DIR: path.join(dataDir, 'slot-a'),
      MANAGEMENT_TOKEN: TOKEN,
    });
    expect(app?.context.name).toBe('shop-api');
    const port = (app!.server.address() as AddressInfo).port;
    const answer = await fetch(`http://127.0.0.1:${port}/api/v1/where`);
    expect(await answer.json()).toEqual({ version: 'v7', database: 'sqlite' });
    expect(log.mock.calls.at(-1)?.[0]).toMatch(/^shop-api listening on http:\/\//);
    log.mockRestore();
  });

  it('prints a bad variable or an unknown service and sets exit code 1, without a stack', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await shop().main({ [SERVICE_ROLE_ENV]: 'api', VERSION: 'not a version!' })).toBe(
      undefined,
    );
    expect(process.exitCode).toBe(1);
    expect(String(error.mock.calls[0]?.[0])).toContain('VERSION');
    expect(String(error.mock.calls[0]?.[0])).not.toContain('    at ');
    await shop().main({ [SERVICE_ROLE_ENV]: 'billing' });
    expect(String(error.mock.calls[1]?.[0])).toContain('shop has no service "billing" (api)');
    error.mockRestore();
  });
});

describe('createService', () => {
  it('lets settings win over variables, and a server URL over the embedded default', async () => {
    const app = createService(
      { name: 'billing', database: 'pglite', plugins: [api] },
      {
        port: 0,
        version: 'v2',
        dataDir: path.join(dataDir, 'billing'),
        databaseUrl: `sqlite:${path.join(dataDir, 'billing.db')}`,
        env: { VERSION: 'v1', PORT: '1' },
      },
    );
    await app.start();
    try {
      const port = (app.server.address() as AddressInfo).port;
      const answer = await fetch(`http://127.0.0.1:${port}/api/v1/where`);
      expect(await answer.json()).toEqual({ version: 'v2', database: 'sqlite' });
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    } finally {
      await app.stop();
    }
  });
});
