import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  HttpError,
  MASK,
  createApp,
  definePlugin,
  secret,
  type App,
  type AppOptions,
} from '../../index.js';
import { baseUrl, captureLogs } from '../../../test/support/http.js';
import { createConfigPlugin, type ConfigOptions, type ConfigReport } from './index.js';

// Raw secrets; none may appear anywhere in an answer.
const RAW = {
  signing: 'sig-material-7f3a9c',
  dbPassword: 'pg-pw-Q8xZ2',
  apiKey: 'ak-live-5d1e0b',
  smtpLogin: 'smtp-login-W4v7',
  envDbPassword: 'env-pw-K3m9',
  mailerKey: 'mk-raw-J2p6',
  proxyPassword: 'proxy-pw-T5n1',
};

const ENV = {
  QA_CFG_PORT: '8080',
  QA_CFG_DATABASE_URL: `postgres://reader:${RAW.envDbPassword}@127.0.0.1:5432/app`,
  QA_CFG_MAILER_KEY: RAW.mailerKey,
  QA_CFG_MODE: 'reckless',
  QA_CFG_HTTP_PROXY: `http://proxy:${RAW.proxyPassword}@127.0.0.1:3128`,
};
const ALL_ENV_NAMES = [...Object.keys(ENV), 'QA_CFG_REGION', 'QA_CFG_NODE_EXTRA'];

const vault = definePlugin({
  name: 'vault',
  version: '2.3.4',
  config: {
    // signingMaterial is secret by schema only: its name alone would not hide it.
    schema: z.object({
      signingMaterial: secret(z.string()),
      databaseUrl: z.string(),
      apiKey: z.string(),
      region: z.string(),
    }),
    options: {
      signingMaterial: RAW.signing,
      databaseUrl: `postgres://app:${RAW.dbPassword}@127.0.0.1:5432/app`,
      apiKey: RAW.apiKey,
      region: 'eu-west-1',
    },
  },
});

// A nested secret inside a transformed schema: the marking must survive both.
const mailer = definePlugin({
  name: 'mailer',
  config: {
    schema: z
      .object({
        smtp: z.object({ host: z.string(), login: secret(z.string()) }),
        apiKey: z.string().optional(),
      })
      .transform((options) => ({
        ...options,
        smtp: { ...options.smtp, host: options.smtp.host.toLowerCase() },
      })),
    options: { smtp: { host: 'MAIL.EXAMPLE.TEST', login: RAW.smtpLogin } },
    env: { apiKey: 'QA_CFG_MAILER_KEY' },
  },
});

const appEnv = {
  QA_CFG_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  QA_CFG_DATABASE_URL: { schema: z.url(), description: 'Primary database' },
  QA_CFG_REGION: z.string().optional(),
};

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  for (const name of ALL_ENV_NAMES) delete process.env[name];
});

async function startApp(config: ConfigOptions = {}, extra: Partial<AppOptions> = {}): Promise<App> {
  const app = createApp({
    name: 'qa-config',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [createConfigPlugin(config), vault, mailer, { name: 'api' }],
    ...extra,
  });
  apps.push(app);
  await app.start();
  return app;
}

async function getConfig(app: App): Promise<{ text: string; body: ConfigReport }> {
  const response = await fetch(`${baseUrl(app)}/api/config`);
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const text = await response.text();
  return { text, body: JSON.parse(text) as ConfigReport };
}

describe('config plugin', () => {
  it('shows the effective configuration with secrets masked by schema, by name and inside URLs', async () => {
    Object.assign(process.env, ENV);
    const app = await startApp({}, { env: appEnv });
    const { text, body } = await getConfig(app);
    for (const raw of Object.values(RAW)) expect(text).not.toContain(raw);

    expect(body.app).toMatchObject({ name: 'qa-config', port: 0, host: '127.0.0.1' });
    expect(body.plugins.vault).toEqual({
      signingMaterial: MASK,
      databaseUrl: 'postgres://app:********@127.0.0.1:5432/app',
      apiKey: MASK,
      region: 'eu-west-1',
    });
    expect(body.plugins.mailer).toEqual({
      smtp: { host: 'mail.example.test', login: MASK },
      apiKey: MASK,
    });
    expect(body.plugins.config).toEqual({ path: '/api/config', env: [] });
    expect(body.plugins.api).toEqual({});
  });

  it('lists the environment variables the app reads: set, missing or invalid, values masked', async () => {
    Object.assign(process.env, ENV);
    const logs = captureLogs();
    const app = await startApp(
      {
        env: {
          QA_CFG_MODE: { schema: z.enum(['fast', 'safe']), description: 'Queue mode' },
          QA_CFG_HTTP_PROXY: z.url().optional(),
          QA_CFG_NODE_EXTRA: z.string().optional(),
        },
      },
      { env: appEnv, logger: { destination: logs.stream, level: 'warn' } },
    );
    const { text, body } = await getConfig(app);
    for (const raw of Object.values(RAW)) expect(text).not.toContain(raw);

    const rows = Object.fromEntries(body.environment.map((row) => [row.name, row]));
    // Every app reads MANAGEMENT_TOKEN (the admin routes' bearer token when no guard is installed).
    expect(Object.keys(rows).sort()).toEqual([...ALL_ENV_NAMES, 'MANAGEMENT_TOKEN'].sort());
    expect(rows.MANAGEMENT_TOKEN).toMatchObject({ scope: 'app', status: 'missing', secret: true });
    expect(rows.QA_CFG_PORT).toMatchObject({
      scope: 'app',
      status: 'set',
      value: '8080',
      secret: false,
    });
    expect(rows.QA_CFG_DATABASE_URL).toMatchObject({
      status: 'set',
      value: 'postgres://reader:********@127.0.0.1:5432/app',
      description: 'Primary database',
    });
    expect(rows.QA_CFG_REGION).toMatchObject({ scope: 'app', status: 'missing' });
    expect(rows.QA_CFG_REGION.value).toBeUndefined();
    expect(rows.QA_CFG_MAILER_KEY).toMatchObject({
      scope: 'mailer',
      status: 'set',
      value: MASK,
      secret: true,
    });
    expect(rows.QA_CFG_MODE).toMatchObject({
      status: 'invalid',
      value: 'reckless',
      description: 'Queue mode',
    });
    expect(rows.QA_CFG_MODE.error).toContain('"fast"');
    expect(rows.QA_CFG_HTTP_PROXY).toMatchObject({
      status: 'set',
      value: 'http://proxy:********@127.0.0.1:3128',
    });
    expect(rows.QA_CFG_NODE_EXTRA).toMatchObject({ status: 'missing' });
    // An invalid extra variable does not stop start-up, but it is said at once.
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        plugin: 'config',
        variable: 'QA_CFG_MODE',
        msg: 'environment variable invalid',
      }),
    );

    // The report reads the environment as it is now.
    process.env.QA_CFG_REGION = 'eu-west-1';
    const later = (await getConfig(app)).body.environment.find(
      (row) => row.name === 'QA_CFG_REGION',
    );
    expect(later).toMatchObject({ status: 'set', value: 'eu-west-1' });
  });

  it('accepts a plain list of variable names and reports them set or missing', async () => {
    process.env.QA_CFG_HTTP_PROXY = ENV.QA_CFG_HTTP_PROXY;
    const app = await startApp({ env: ['QA_CFG_HTTP_PROXY', 'QA_CFG_NODE_EXTRA'] });
    const { body } = await getConfig(app);
    expect(body.environment.filter((row) => row.scope === 'app')).toEqual([
      expect.objectContaining({ name: 'MANAGEMENT_TOKEN', status: 'missing' }),
      expect.objectContaining({
        name: 'QA_CFG_HTTP_PROXY',
        status: 'set',
        value: 'http://proxy:********@127.0.0.1:3128',
      }),
      expect.objectContaining({ name: 'QA_CFG_NODE_EXTRA', status: 'missing' }),
    ]);
  });

  it('refuses query parameters with 400 problem+json and sits behind the admin guard', async () => {
    const app = await startApp();
    const bad = await fetch(`${baseUrl(app)}/api/config?plugin=vault`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect(await bad.json()).toMatchObject({
      code: 'CONFIG_INVALID_QUERY',
      invalidParams: [{ name: 'plugin' }],
    });

    const guard = definePlugin({
      name: 'guard',
      onInit: (context) =>
        context.app.setAdminGuard({
          name: 'deny',
          middleware: (_req, _res, next) => next(new HttpError(403, 'QA_DENIED', 'not an admin')),
        }),
    });
    const guarded = await startApp({}, { plugins: [createConfigPlugin(), guard] });
    const refused = await fetch(`${baseUrl(guarded)}/api/config`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'QA_DENIED' });
  });

  it('reports several configuration errors at once at createApp, each named, secrets not echoed', () => {
    process.env.QA_CFG_PORT = 'eighty';
    process.env.QA_CFG_DATABASE_URL = `not a url, password ${RAW.envDbPassword}`;
    const attempt = () =>
      createApp({
        name: 'qa-config',
        logger: { level: 'silent' },
        env: appEnv,
        plugins: [
          createConfigPlugin({ env: ['bad name'], path: 'config' }),
          definePlugin({
            name: 'mailer',
            config: {
              schema: z.object({
                smtp: z.object({ host: z.string(), login: secret(z.string().min(30)) }),
                retries: z.number().int(),
              }),
              options: { smtp: { host: 'mail', login: RAW.smtpLogin }, retries: 1.5 },
            },
          }),
        ],
      });
    let error: ConfigError | undefined;
    try {
      attempt();
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues.map((issue) => issue.name).sort()).toEqual(
      [
        'QA_CFG_DATABASE_URL',
        'QA_CFG_PORT',
        'plugins.config.env.0',
        'plugins.config.path',
        'plugins.mailer.retries',
        'plugins.mailer.smtp.login',
      ].sort(),
    );
    expect(error!.message).toContain('"eighty"');
    expect(
      error!.issues.find((issue) => issue.name === 'plugins.mailer.smtp.login')?.received,
    ).toBe(MASK);
    expect(error!.message).not.toContain(RAW.smtpLogin);
  });
});
