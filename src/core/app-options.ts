import { z } from 'zod';
import type { Logger } from 'pino';
import { parseTrustProxy, trustProxyProblem, type TrustProxy } from './client-address.js';
import { inspectEnv, toConfigIssues, type EnvSpec } from './config.js';
import { ConfigRegistry } from './context.js';
import { ConfigError, PluginGraphError, type ConfigIssue } from './errors.js';
import type { LoggerOptions } from './logger.js';
import {
  MANAGEMENT_TOKEN_ENV,
  managementEnv,
  managementSchema,
  withManagementEnv,
  type ManagementOptions,
} from './management.js';
import { isSecretName, secretKeysOf } from './masking.js';
import type { ServerPlugin } from './plugin.js';
import { flattenPlugins, orderPlugins } from './registry.js';
import { checkRequirements } from './requirements.js';
import { SERVER_DEFAULTS, type ServerOptions } from './server.js';
import { CORE_VERSION } from './version.js';
import type { ShutdownOptions } from './shutdown.js';

export interface AppOptions {
  name: string;
  version?: string;
  /** Port to listen on; 0 picks a free one. Default 3000. */
  port?: number;
  /** Default `0.0.0.0`. */
  host?: string;
  plugins?: ServerPlugin<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** A pino logger, or options to create one. */
  logger?: Logger | LoggerOptions;
  shutdown?: ShutdownOptions;
  /** Largest JSON body accepted, in bytes or a size string. Default `1mb`. */
  bodyLimit?: number | string;
  /**
   * Which proxies in front of the app may speak for the client (X-Forwarded-For, -Proto, -Host):
   * the number of hops (`1` behind one load balancer) or their addresses and subnets
   * (`['10.0.0.0/8', 'loopback']`). One setting for routing, rate limits, request lines, the
   * guards and the security headers; never a blanket `true`. Default `TRUST_PROXY`, else false:
   * the client is the TCP peer.
   */
  trustProxy?: TrustProxy | string;
  /** Environment variables the app reads (validated with the rest, listed by the config plugin). */
  env?: EnvSpec;
  /** The node:http server's timeouts (milliseconds) and connection caps; see {@link ServerOptions}. */
  server?: ServerOptions;
  /** How `admin` routes answer when no guard (the control panel) is installed. */
  management?: ManagementOptions;
}

const appOptionsSchema = z.object({
  name: z.string().min(1, 'a non-empty app name'),
  version: z.string().optional(),
  port: z.number().int().min(0).max(65535).default(3000),
  host: z.string().min(1).default('0.0.0.0'),
  bodyLimit: z
    .union([
      z.number().int().positive(),
      z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'a size like "1mb"'),
    ])
    .default('1mb'),
  server: serverOptionsSchema(),
  management: managementSchema,
});

/** Each limit must be a positive whole number: 0 would mean "no limit" to Node. */
function serverOptionsSchema() {
  const limit = (fallback: number, what: string) =>
    z
      .number({ error: `${what} (a positive whole number)` })
      .int(`${what} (a positive whole number)`)
      .positive(`${what} (a positive whole number)`)
      .default(fallback);
  return z
    .strictObject({
      keepAliveTimeout: limit(SERVER_DEFAULTS.keepAliveTimeout, 'milliseconds'),
      headersTimeout: limit(SERVER_DEFAULTS.headersTimeout, 'milliseconds'),
      requestTimeout: limit(SERVER_DEFAULTS.requestTimeout, 'milliseconds'),
      connectionsCheckingInterval: limit(
        SERVER_DEFAULTS.connectionsCheckingInterval,
        'milliseconds',
      ),
      maxConnections: limit(SERVER_DEFAULTS.maxConnections, 'a connection count'),
      maxConnectionsPerAddress: limit(
        SERVER_DEFAULTS.maxConnectionsPerAddress,
        'a connection count',
      ),
    })
    .refine((server) => server.headersTimeout <= server.requestTimeout, {
      path: ['headersTimeout'],
      error:
        'at most server.requestTimeout (a request head cannot take longer than the whole request)',
    })
    .prefault({});
}

/** Validates every plugin's options (with its env fallbacks); collects all problems. */
function validatePluginConfigs(
  plugins: readonly ServerPlugin<unknown>[],
  registry: ConfigRegistry,
  issues: ConfigIssue[],
): Map<string, unknown> {
  const configs = new Map<string, unknown>();
  for (const plugin of plugins) {
    if (!plugin.config) continue;
    const { schema, options, env = {} } = plugin.config;
    const input: Record<string, unknown> = {
      ...((options as Record<string, unknown> | undefined) ?? {}),
    };
    const fromEnv: Record<string, string> = {};
    for (const [key, variable] of Object.entries(env)) {
      if (
        input[key] === undefined &&
        process.env[variable] !== undefined &&
        process.env[variable] !== ''
      ) {
        input[key] = process.env[variable];
        fromEnv[key] = variable;
      }
    }
    const secretKeys = secretKeysOf(schema);
    if (Object.keys(env).length > 0) {
      registry.addEnv(
        plugin.name,
        Object.fromEntries(
          Object.entries(env).map(([key, variable]) => [
            variable,
            { schema: z.string().optional(), secret: secretKeys.has(key) || isSecretName(key) },
          ]),
        ),
      );
    }
    const result = schema.safeParse(input);
    if (result.success) {
      configs.set(plugin.name, result.data);
      registry.addScope({ scope: plugin.name, values: result.data, secretKeys, env: fromEnv });
    } else {
      issues.push(
        ...toConfigIssues(result.error, input, {
          secretKeys,
          rename: (path) =>
            fromEnv[path.split('.')[0]] ?? `plugins.${plugin.name}${path ? `.${path}` : ''}`,
        }),
      );
    }
  }
  return configs;
}

/** The app's options, every plugin's config and the plugin order, validated together. */
export interface ResolvedApp {
  settings: z.output<typeof appOptionsSchema>;
  trustProxy: TrustProxy;
  configRegistry: ConfigRegistry;
  /** Every plugin, companions included, in start-up order. */
  ordered: ServerPlugin<unknown>[];
  pluginConfigs: Map<string, unknown>;
  companionOf: Map<ServerPlugin<unknown>, string | undefined>;
}

/**
 * Validates app options, the env spec and every plugin's config at once: one `ConfigError`
 * lists each problem, so a start-up fails a single time with the whole list.
 */
export function resolveAppOptions(options: AppOptions): ResolvedApp {
  const issues: ConfigIssue[] = [];
  const management = withManagementEnv(options);
  const parsedOptions = appOptionsSchema.safeParse(management.input);
  if (!parsedOptions.success)
    issues.push(
      ...toConfigIssues(parsedOptions.error, management.input, { rename: management.rename }),
    );

  const trustProxy = parseTrustProxy(options.trustProxy ?? process.env.TRUST_PROXY ?? false);
  const trustProblem = trustProxyProblem(trustProxy);
  if (trustProblem) {
    const name = options.trustProxy === undefined ? 'TRUST_PROXY' : 'trustProxy';
    issues.push({
      name,
      expected: trustProblem,
      received: JSON.stringify(options.trustProxy ?? process.env.TRUST_PROXY),
    });
  }

  const configRegistry = new ConfigRegistry();
  if (options.env) {
    configRegistry.addEnv('app', options.env);
    issues.push(...inspectEnv(options.env).issues);
  }
  if (!options.env?.[MANAGEMENT_TOKEN_ENV]) configRegistry.addEnv('app', managementEnv);
  const registered = flattenPlugins((options.plugins ?? []) as ServerPlugin<unknown>[]);
  const companionOf = new Map(
    registered.map(({ plugin, companionOf: parent }) => [plugin, parent]),
  );
  const ordered = orderPlugins(registered.map(({ plugin }) => plugin));
  if (ordered.some((plugin) => plugin.name === 'app')) {
    throw new PluginGraphError(
      'PLUGIN_DUPLICATE',
      'A plugin cannot be named "app": the name is reserved for the app itself.',
    );
  }
  checkRequirements(ordered, CORE_VERSION);
  const pluginConfigs = validatePluginConfigs(ordered, configRegistry, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const settings = parsedOptions.data!;
  configRegistry.addScope({
    scope: 'app',
    values: {
      name: settings.name,
      version: settings.version,
      port: settings.port,
      host: settings.host,
      bodyLimit: settings.bodyLimit,
      trustProxy,
      server: settings.server,
      management: settings.management,
    },
    secretKeys: new Set(['management.token']),
    env: {},
  });

  return {
    settings,
    trustProxy: trustProxy as TrustProxy,
    configRegistry,
    ordered,
    pluginConfigs,
    companionOf,
  };
}
