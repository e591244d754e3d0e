import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from 'pino';
import { inspectEnv, toConfigIssues, type EnvSpec } from './config.js';
import { isSecretName, secretKeysOf } from './masking.js';
import {
  ConfigRegistry,
  createPluginContext,
  type AdminGuard,
  type AppContext,
  type AppPhase,
  type PluginContext,
  type RawHandler,
  type UpgradeHandler,
  type RouteRecord,
} from './context.js';
import { createAdminGate } from './admin-gate.js';
import { createClientAddresses, parseTrustProxy, trustProxyProblem, type TrustProxy } from './client-address.js';
import { ControlPlane } from './control-plane.js';
import { EdgePipeline, type EdgeExchange } from './edge.js';
import { normaliseTarget } from './path.js';
import { BodyReader, hasBody } from './body.js';
import { FastRoutes } from './fast-routes.js';
import { MANAGEMENT_TOKEN_ENV, managementEnv, managementSchema, withManagementEnv, type ManagementOptions } from './management.js';
import { ConfigError, PluginGraphError, PluginLifecycleError, errorMessage, type ConfigIssue } from './errors.js';
import { HealthRegistry } from './health-registry.js';
import { closeLogger, createLogger, flushLogger, type LoggerOptions } from './logger.js';
import type { PluginStatus, ServerPlugin } from './plugin.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { flattenPlugins, orderPlugins } from './registry.js';
import { requestPreparer } from './request-log.js';
import { EventBus, ServiceRegistry } from './services.js';
import { createHttpServer, SERVER_DEFAULTS, type ServerOptions } from './server.js';
import { runShutdown, installSignalHandlers, type ShutdownOptions } from './shutdown.js';
import type { UIContribution } from './ui.js';
import './types.js';

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

export interface App {
  express: Express;
  server: http.Server;
  context: AppContext;
  /** Initialises plugins and listens; resolves once listening. */
  start(): Promise<void>;
  /** Graceful stop; resolves once fully stopped. */
  stop(options?: { reason?: string; readinessDelay?: number }): Promise<void>;
}

const appOptionsSchema = z.object({
  name: z.string().min(1, 'a non-empty app name'),
  version: z.string().optional(),
  port: z.number().int().min(0).max(65535).default(3000),
  host: z.string().min(1).default('0.0.0.0'),
  bodyLimit: z.union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'a size like "1mb"')]).default('1mb'),
  server: serverOptionsSchema(),
  management: managementSchema,
});

/** Each limit must be a positive whole number: 0 would mean "no limit" to Node. */
function serverOptionsSchema() {
  const limit = (fallback: number, what: string) => z.number({ error: `${what} (a positive whole number)` }).int(`${what} (a positive whole number)`).positive(`${what} (a positive whole number)`).default(fallback);
  return z
    .strictObject({
      keepAliveTimeout: limit(SERVER_DEFAULTS.keepAliveTimeout, 'milliseconds'),
      headersTimeout: limit(SERVER_DEFAULTS.headersTimeout, 'milliseconds'),
      requestTimeout: limit(SERVER_DEFAULTS.requestTimeout, 'milliseconds'),
      connectionsCheckingInterval: limit(SERVER_DEFAULTS.connectionsCheckingInterval, 'milliseconds'),
      maxConnections: limit(SERVER_DEFAULTS.maxConnections, 'a connection count'),
      maxConnectionsPerAddress: limit(SERVER_DEFAULTS.maxConnectionsPerAddress, 'a connection count'),
    })
    .refine((server) => server.headersTimeout <= server.requestTimeout, {
      path: ['headersTimeout'],
      error: 'at most server.requestTimeout (a request head cannot take longer than the whole request)',
    })
    .prefault({});
}

interface PluginRecord {
  plugin: ServerPlugin<unknown>;
  status: PluginStatus;
  context?: PluginContext<unknown>;
  config: unknown;
}

/** Validates every plugin's options (with its env fallbacks); collects all problems. */
function validatePluginConfigs(plugins: readonly ServerPlugin<unknown>[], registry: ConfigRegistry, issues: ConfigIssue[]): Map<string, unknown> {
  const configs = new Map<string, unknown>();
  for (const plugin of plugins) {
    if (!plugin.config) continue;
    const { schema, options, env = {} } = plugin.config;
    const input: Record<string, unknown> = { ...((options as Record<string, unknown> | undefined) ?? {}) };
    const fromEnv: Record<string, string> = {};
    for (const [key, variable] of Object.entries(env)) {
      if (input[key] === undefined && process.env[variable] !== undefined && process.env[variable] !== '') {
        input[key] = process.env[variable];
        fromEnv[key] = variable;
      }
    }
    const secretKeys = secretKeysOf(schema);
    if (Object.keys(env).length > 0) {
      registry.addEnv(
        plugin.name,
        Object.fromEntries(
          Object.entries(env).map(([key, variable]) => [variable, { schema: z.string().optional(), secret: secretKeys.has(key) || isSecretName(key) }]),
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
          rename: (path) => fromEnv[path.split('.')[0]] ?? `plugins.${plugin.name}${path ? `.${path}` : ''}`,
        }),
      );
    }
  }
  return configs;
}

/**
 * Creates an app: an Express app plus the plugin lifecycle. Nothing is shared between apps.
 * @example
 * const app = createApp({ name: 'api', port: 3100, plugins: [createHealthPlugin()] });
 * await app.start();
 */
export function createApp(options: AppOptions): App {
  const issues: ConfigIssue[] = [];
  const management = withManagementEnv(options);
  const parsedOptions = appOptionsSchema.safeParse(management.input);
  if (!parsedOptions.success) issues.push(...toConfigIssues(parsedOptions.error, management.input, { rename: management.rename }));

  const trustProxy = parseTrustProxy(options.trustProxy ?? process.env.TRUST_PROXY ?? false);
  const trustProblem = trustProxyProblem(trustProxy);
  if (trustProblem) {
    const name = options.trustProxy === undefined ? 'TRUST_PROXY' : 'trustProxy';
    issues.push({ name, expected: trustProblem, received: JSON.stringify(options.trustProxy ?? process.env.TRUST_PROXY) });
  }

  const configRegistry = new ConfigRegistry();
  if (options.env) {
    configRegistry.addEnv('app', options.env);
    issues.push(...inspectEnv(options.env).issues);
  }
  if (!options.env?.[MANAGEMENT_TOKEN_ENV]) configRegistry.addEnv('app', managementEnv);
  const registered = flattenPlugins((options.plugins ?? []) as ServerPlugin<unknown>[]);
  const companionOf = new Map(registered.map(({ plugin, companionOf: parent }) => [plugin, parent]));
  const ordered = orderPlugins(registered.map(({ plugin }) => plugin));
  if (ordered.some((plugin) => plugin.name === 'app')) {
    throw new PluginGraphError('PLUGIN_DUPLICATE', 'A plugin cannot be named "app": the name is reserved for the app itself.');
  }
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

  const ownsLogger = !(options.logger && 'info' in options.logger);
  const logger: Logger = ownsLogger ? createLogger(options.logger as LoggerOptions | undefined) : (options.logger as Logger);
  // A logger the app made is released with the app; one passed in belongs to the caller.
  const releaseLogger = () => (ownsLogger ? closeLogger(logger) : flushLogger(logger));
  const logFile = options.logger && !('info' in options.logger) ? (options.logger as LoggerOptions).file?.path : undefined;
  const appLogger = logger.child({ app: settings.name });

  const events = new EventBus((event, error) => appLogger.error({ err: error, event }, 'event listener failed'));
  const services = new ServiceRegistry();
  const health = new HealthRegistry(appLogger.child({ component: 'health' }));
  const records: PluginRecord[] = ordered.map((plugin) => ({
    plugin,
    config: pluginConfigs.get(plugin.name),
    status: { name: plugin.name, version: plugin.version, dependencies: plugin.dependencies ?? [], companionOf: companionOf.get(plugin), state: 'registered' },
  }));
  const routeRecords: RouteRecord[] = [];
  const uiContributions: { plugin: string; contribution: UIContribution }[] = [];
  const rawHandlers: RawHandler[] = [];
  const upgradeHandlers: UpgradeHandler[] = [];
  let guard: AdminGuard | undefined;
  // Who installed the guard, to name both when a second one would replace it.
  let guardOwner = '';
  let initialising: string | undefined;
  const controlPlane = new ControlPlane();
  const edge = new EdgePipeline();
  const controlPlaneHooks: RequestHandler[] = [];
  let phase: AppPhase = 'created';
  let listeningUrl: string | undefined;

  const expressApp = express();
  expressApp.disable('x-powered-by');
  const clients = createClientAddresses(trustProxy as TrustProxy);
  // Express answers req.ip and req.secure from the same setting as every other reader.
  expressApp.set('trust proxy', clients.expressTrust);

  const { server, drain } = createHttpServer({
    dispatch: expressApp,
    rawHandlers,
    upgradeHandlers,
    isStopping: () => phase === 'stopping',
    logger: appLogger,
    clientOf: (req) => clients.of(req),
    limits: settings.server,
  });

  const setState = (record: PluginRecord, state: PluginStatus['state'], error?: unknown) => {
    record.status.state = state;
    record.status.error = error === undefined ? undefined : errorMessage(error);
    events.emit('plugin:state', { name: record.plugin.name, state, error: record.status.error });
  };

  const context: AppContext = {
    name: settings.name,
    version: settings.version,
    logger: appLogger,
    services,
    health,
    events,
    config: configRegistry,
    logFile,
    startedAt: new Date(),
    phase: () => phase,
    isReady: () => phase === 'ready' && health.criticalPassing(),
    url: () => listeningUrl,
    plugins: () => records.map((record) => ({ ...record.status })),
    routes: () => [...routeRecords],
    ui: () => [...uiContributions],
    addRawHandler: (handler) => void rawHandlers.push(handler),
    addUpgradeHandler: (handler) => void upgradeHandlers.push(handler),
    setAdminGuard: (next) => {
      const owner = initialising === undefined ? 'setAdminGuard' : `plugin "${initialising}"`;
      if (guard) throw secondGuardError(guard, guardOwner, next, owner);
      guard = next;
      guardOwner = owner;
    },
    adminGuard: () => guard,
    edge,
    clients,
    isControlPlane: (req) => controlPlane.includes(req),
    addControlPlaneHook: (handler) => void controlPlaneHooks.push(handler),
    managementToken: () => settings.management.token,
  };

  const adminGate = createAdminGate(() => guard, settings.management, appLogger);

  const mountPlugins = () => {
    // One layer for what every request needs: each Express layer costs a router step.
    const prepare = requestPreparer(appLogger, context);
    const body = new BodyReader(express.json({ limit: settings.bodyLimit }), {
      caseSensitive: expressApp.enabled('case sensitive routing'),
      strict: expressApp.enabled('strict routing'),
    });
    const readBody = (req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (hasBody(req)) body.read(req, res, next);
      else next();
    };
    const hooked = edge.has('express');
    expressApp.use((req, res, next) => {
      prepare(req, res);
      if (!hooked) return readBody(req, res, next);
      // The edge hooks (rate limits, security headers) before the body is read: a refused request
      // is answered without reading its upload.
      const exchange = expressExchange(req, res);
      edge.run(
        exchange,
        () => {
          const defaults = exchange.defaultHeaders;
          for (let index = 0; index < defaults.length; index += 2) res.setHeader(defaults[index], defaults[index + 1]);
          readBody(req, res, next);
        },
        next,
      );
    });
    const middleware = records.flatMap((record) => {
      const list = typeof record.plugin.middleware === 'function' ? record.plugin.middleware(record.context!) : (record.plugin.middleware ?? []);
      return [...list].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    });
    for (const entry of middleware) {
      if (entry.path) expressApp.use(entry.path, entry.handler);
      else expressApp.use(entry.handler);
    }
    const fastRoutes = new FastRoutes();
    expressApp.use(fastRoutes.middleware());
    const fallbacks: (() => void)[] = [];
    for (const record of records) {
      const routes = typeof record.plugin.routes === 'function' ? record.plugin.routes(record.context!) : (record.plugin.routes ?? []);
      for (const route of routes) {
        const access = route.access ?? 'public';
        const plane = route.plane ?? (access === 'admin' ? 'control' : 'data');
        if (plane === 'control') controlPlane.add(route.path);
        // An admin route reads its body only after the gate: a refusal comes before the upload.
        if (access === 'admin') body.deferFor(route.method, route.path);
        const handlers = [
          ...(access === 'admin' ? [adminGate, body.afterGate] : []),
          ...(plane === 'control' ? controlPlaneHooks : []),
          ...(Array.isArray(route.handler) ? route.handler : [route.handler]),
        ];
        const mount = () => {
          const stepAside = fastRoutes.add(route.method, route.path, handlers);
          expressApp[route.method](route.path, ...(stepAside ? [stepAside, ...handlers] : handlers));
        };
        if (route.fallback) fallbacks.push(mount);
        else mount();
        routeRecords.push({ method: route.method, path: route.path, plugin: record.plugin.name, access, plane, description: route.description });
      }
      const ui = typeof record.plugin.ui === 'function' ? record.plugin.ui(record.context!) : record.plugin.ui;
      if (ui) uiContributions.push({ plugin: record.plugin.name, contribution: ui });
    }
    for (const mount of fallbacks) mount();
    expressApp.use(notFoundHandler());
    expressApp.use(errorHandler(appLogger));
  };

  const shutdownSettings = {
    readinessDelay: options.shutdown?.readinessDelay ?? 5_000,
    drainTimeout: options.shutdown?.drainTimeout ?? 10_000,
    hookTimeout: options.shutdown?.hookTimeout ?? 5_000,
  };
  let removeSignalHandlers: (() => void) | undefined;
  let stopping: Promise<void> | undefined;
  let stopRequested = false;

  const shutdownPlugins = (list: PluginRecord[]) =>
    runShutdown(
      [...list].reverse().map((record) => ({
        name: record.plugin.name,
        run: async () => {
          setState(record, 'stopping');
          await record.plugin.onShutdown?.(record.context!);
          setState(record, 'stopped');
        },
      })),
      shutdownSettings.hookTimeout,
      appLogger,
    );

  let startup: Promise<void> | undefined;
  const start = () => (startup ??= startApp());
  const startApp = async () => {
    if (phase !== 'created') throw new Error(`App "${settings.name}" cannot start from phase "${phase}".`);
    phase = 'starting';
    const initialised: PluginRecord[] = [];
    try {
      for (const record of records) {
        record.context = createPluginContext(context, record.plugin.name, record.config);
        setState(record, 'initialising');
        const begun = performance.now();
        initialising = record.plugin.name;
        try {
          await record.plugin.onInit?.(record.context);
        } catch (error) {
          setState(record, 'failed', error);
          throw new PluginLifecycleError(record.plugin.name, 'onInit', error);
        } finally {
          initialising = undefined;
        }
        record.status.initMs = Math.round(performance.now() - begun);
        initialised.push(record);
        setState(record, 'initialised');
        registerPluginHealthCheck(record, health);
      }
      mountPlugins();
      await health.start();
      for (const record of records) {
        try {
          await record.plugin.onReady?.(record.context!);
        } catch (error) {
          setState(record, 'failed', error);
          throw new PluginLifecycleError(record.plugin.name, 'onReady', error);
        }
        setState(record, 'ready');
      }
      if (stopRequested) throw new Error(`App "${settings.name}" was stopped during start-up.`);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.port, settings.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      phase = 'failed';
      health.stop();
      await shutdownPlugins(initialised);
      appLogger.error({ err: error }, 'start-up failed');
      await releaseLogger();
      throw error;
    }
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    listeningUrl = `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${address.port}`;
    phase = 'ready';
    if (options.shutdown?.signals !== false) {
      removeSignalHandlers = installSignalHandlers(options.shutdown?.signals ?? ['SIGTERM', 'SIGINT'], {
        logger: appLogger,
        stop: (reason) => stop({ reason, readinessDelay: shutdownSettings.readinessDelay }),
        exit: options.shutdown?.exit ?? ((code) => process.exit(code)),
      });
    }
    appLogger.info({ url: listeningUrl, plugins: records.map((r) => r.plugin.name) }, 'app listening');
    events.emit('app:ready', { url: listeningUrl });
  };

  const stop = (stopOptions: { reason?: string; readinessDelay?: number } = {}) => {
    stopRequested = true;
    stopping ??= (async () => {
      if (phase === 'starting') await startup?.catch(() => undefined);
      if (phase === 'created' || phase === 'failed' || phase === 'stopped') {
        phase = 'stopped';
        return;
      }
      const reason = stopOptions.reason ?? 'stop() called';
      phase = 'stopping';
      appLogger.info({ reason }, 'shutting down');
      events.emit('app:shutdown', { reason });
      const delay = stopOptions.readinessDelay ?? 0;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      await drain(shutdownSettings.drainTimeout, appLogger);
      await shutdownPlugins(records.filter((record) => record.status.state !== 'registered' && record.status.state !== 'failed'));
      health.stop();
      removeSignalHandlers?.();
      phase = 'stopped';
      appLogger.info('stopped');
      await releaseLogger();
    })();
    return stopping;
  };

  return { express: expressApp, server, context, start, stop };
}

function registerPluginHealthCheck(record: PluginRecord, health: HealthRegistry): void {
  const check = record.plugin.healthCheck;
  if (!check) return;
  const definition = typeof check === 'function' ? { run: check } : check;
  health.register({ name: record.plugin.name, plugin: record.plugin.name, ...definition });
}

/** An Express-lane request as the edge hooks see it: Express matches its route later. */
function expressExchange(req: express.Request, res: express.Response): EdgeExchange {
  const url = req.url;
  const target = normaliseTarget(url);
  const end = url.indexOf('?');
  // A path routing would refuse still counts, as what it says (Express answers it).
  const path = 'error' in target ? (end === -1 ? url : url.slice(0, end)) : target.path;
  return { req, res, lane: 'express', upgrade: false, path, route: undefined, requestId: req.id, defaultHeaders: [] };
}

/**
 * One admin guard per app: a second one would silently replace the first (the control panel's
 * `guard` option and another plugin's `setAdminGuard` both installing one), so it fails start-up.
 */
function secondGuardError(installed: AdminGuard, installedBy: string, next: AdminGuard, nextBy: string): ConfigError {
  return new ConfigError([
    {
      name: 'admin guard',
      received: `a second guard "${next.name}" from ${nextBy}`,
      expected: `one guard; "${installed.name}" from ${installedBy} is already installed (give a custom guard as the control panel's guard option, or install one with setAdminGuard, not both)`,
    },
  ]);
}
