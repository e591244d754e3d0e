import type { Request, Response } from 'express';
import { inspectEnv, type EnvReport } from '../../core/config.js';
import type { AppContext, ConfigNotice } from '../../core/context.js';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition, ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { UIContribution } from '../../core/ui.js';
import {
  configOptionsSchema,
  toEnvSpec,
  type ConfigPluginConfig,
  type ConfigOptions,
} from './options.js';

export type { ConfigPluginConfig, ConfigOptions } from './options.js';
export { CONFIG_ERRORS } from './errors.js';

/** The body of `GET /api/config`. Every value is masked already. */
export interface ConfigReport {
  app: Record<string, unknown>;
  /** Each plugin's validated options; `{}` for a plugin without options. */
  plugins: Record<string, unknown>;
  /** The environment variables the app reads, as they are now: set, missing or invalid. */
  environment: (EnvReport & { scope: string })[];
  /** What plugins say about the settings in force (the rate limit, a missing trustProxy, ...). */
  notices: ConfigNotice[];
}

/** Reads the app's config registry; the masking happens there, so every reader shows the same. */
export function configReport(app: AppContext): ConfigReport {
  const effective = app.config.effective();
  const plugins: Record<string, unknown> = {};
  for (const status of app.plugins()) plugins[status.name] = effective[status.name] ?? {};
  return {
    app: (effective.app as Record<string, unknown> | undefined) ?? {},
    plugins,
    environment: app.config.environment(),
    notices: app.config.notices(),
  };
}

function refuseQuery(req: Request): void {
  const names = Object.keys(req.query);
  if (names.length === 0) return;
  throw new HttpError(
    400,
    'CONFIG_INVALID_QUERY',
    `Unknown query parameter${names.length > 1 ? 's' : ''}: ${names.join(', ')}; this endpoint takes none.`,
    {
      details: { invalidParams: names.map((name) => ({ name, reason: 'unknown parameter' })) },
    },
  );
}

/**
 * The effective configuration, for people and the control panel.
 *
 * `GET /api/config` (admin): `{ app, plugins: { [name]: options }, environment }`. Secrets are
 * masked by schema marking (`secret(z.string())`), by name (*SECRET*, *TOKEN*, *PASSWORD*,
 * *KEY*...) and inside URLs (`postgres://user:********@host/db`). `environment` lists every
 * variable the app reads (`createApp({ env })`, plugin `config.env` mappings, and this plugin's
 * `env` option) with its status: `set`, `missing` or `invalid`.
 * @example
 * createApp({
 *   name: 'api',
 *   env: { PORT: z.coerce.number().int().default(3000) },
 *   plugins: [createConfigPlugin({ env: ['HTTP_PROXY', 'NODE_OPTIONS'] })],
 * });
 */
export function createConfigPlugin(options: ConfigOptions = {}): ServerPlugin<ConfigPluginConfig> {
  return {
    name: 'config',
    version: CORE_VERSION,
    config: { schema: configOptionsSchema, options },
    onInit(context) {
      const spec = toEnvSpec(context.config.env);
      if (Object.keys(spec).length === 0) return;
      context.app.config.addEnv('app', spec);
      // Variables read outside createApp are not validated at start-up; say early what is wrong.
      for (const issue of inspectEnv(spec).issues) {
        context.logger.warn(
          { variable: issue.name, received: issue.received, expected: issue.expected },
          'environment variable invalid',
        );
      }
    },
    routes: (context): RouteDefinition[] => [
      {
        method: 'get',
        path: context.config.path,
        access: 'admin',
        permission: 'config:read',
        description:
          'Effective configuration of the app and each plugin, and the environment variables it reads (secrets masked)',
        handler: (req: Request, res: Response) => {
          refuseQuery(req);
          res.set('cache-control', 'no-store').json(configReport(context.app));
        },
      },
    ],
    ui: (context): UIContribution => ({
      pages: [
        {
          id: 'config',
          title: 'Config',
          route: '/config',
          icon: 'settings',
          order: 30,
          views: [
            {
              kind: 'table',
              endpoint: context.config.path,
              rowsPath: 'notices',
              columns: [
                { key: 'level', label: 'Level', format: 'status' },
                { key: 'scope', label: 'From' },
                { key: 'message', label: 'Notice' },
              ],
            },
            {
              kind: 'table',
              endpoint: context.config.path,
              rowsPath: 'environment',
              columns: [
                { key: 'name', label: 'Variable' },
                { key: 'status', label: 'Status', format: 'status' },
                { key: 'value', label: 'Value' },
                { key: 'scope', label: 'Read by' },
                { key: 'error', label: 'Problem' },
              ],
            },
            { kind: 'json', endpoint: context.config.path },
          ],
        },
      ],
    }),
  };
}
