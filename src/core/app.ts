import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { mountPlugins, type PluginRecord } from './app-mount.js';
import { resolveAppOptions, type AppOptions } from './app-options.js';
import {
  createPluginContext,
  type AdminGuard,
  type AppContext,
  type AppPhase,
  type RawHandler,
  type UpgradeHandler,
  type RouteRecord,
} from './context.js';
import { createAdminGate } from './admin-gate.js';
import { createClientAddresses } from './client-address.js';
import { RoutePaths } from './route-paths.js';
import { EdgePipeline } from './edge.js';
import { ConfigError, PluginLifecycleError, errorMessage } from './errors.js';
import { HealthRegistry } from './health-registry.js';
import { closeLogger, createLogger, flushLogger, type LoggerOptions } from './logger.js';
import type { PluginStatus } from './plugin.js';
import { EventBus, ServiceRegistry } from './services.js';
import { createHttpServer } from './server.js';
import { runShutdown, installSignalHandlers } from './shutdown.js';
import type { UIContribution } from './ui.js';
import './types.js';

export type { AppOptions } from './app-options.js';

export interface App {
  express: Express;
  server: http.Server;
  context: AppContext;
  /** Initialises plugins and listens; resolves once listening. */
  start(): Promise<void>;
  /** Graceful stop; resolves once fully stopped. */
  stop(options?: { reason?: string; readinessDelay?: number }): Promise<void>;
}

/**
 * Creates an app: an Express app plus the plugin lifecycle. Nothing is shared between apps.
 * @example
 * const app = createApp({ name: 'api', port: 3100, plugins: [createHealthPlugin()] });
 * await app.start();
 */
export function createApp(options: AppOptions): App {
  const { settings, trustProxy, configRegistry, ordered, pluginConfigs, companionOf } =
    resolveAppOptions(options);

  const ownsLogger = !(options.logger && 'info' in options.logger);
  const logger: Logger = ownsLogger
    ? createLogger(options.logger as LoggerOptions | undefined)
    : (options.logger as Logger);
  // A logger the app made is released with the app; one passed in belongs to the caller.
  const releaseLogger = () => (ownsLogger ? closeLogger(logger) : flushLogger(logger));
  const logFile =
    options.logger && !('info' in options.logger)
      ? (options.logger as LoggerOptions).file?.path
      : undefined;
  const appLogger = logger.child({ app: settings.name });

  const events = new EventBus((event, error) =>
    appLogger.error({ err: error, event }, 'event listener failed'),
  );
  const services = new ServiceRegistry();
  const health = new HealthRegistry(appLogger.child({ component: 'health' }));
  const records: PluginRecord[] = ordered.map((plugin) => ({
    plugin,
    config: pluginConfigs.get(plugin.name),
    status: {
      name: plugin.name,
      version: plugin.version,
      dependencies: plugin.dependencies ?? [],
      companionOf: companionOf.get(plugin),
      state: 'registered',
    },
  }));
  const routeRecords: RouteRecord[] = [];
  const uiContributions: { plugin: string; contribution: UIContribution }[] = [];
  const rawHandlers: RawHandler[] = [];
  const upgradeHandlers: UpgradeHandler[] = [];
  let guard: AdminGuard | undefined;
  // Who installed the guard, to name both when a second one would replace it.
  let guardOwner = '';
  let initialising: string | undefined;
  // Which requests are the control plane: admin routes and the panel's pages.
  const controlPlane = new RoutePaths();
  const edge = new EdgePipeline();
  const controlPlaneHooks: RequestHandler[] = [];
  let phase: AppPhase = 'created';
  let listeningUrl: string | undefined;

  const expressApp = express();
  expressApp.disable('x-powered-by');
  const clients = createClientAddresses(trustProxy);
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

  const mount = () =>
    mountPlugins({
      expressApp,
      records,
      context,
      logger: appLogger,
      bodyLimit: settings.bodyLimit,
      edge,
      adminGate,
      controlPlane,
      controlPlaneHooks,
      routeRecords,
      uiContributions,
    });

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
    if (phase !== 'created')
      throw new Error(`App "${settings.name}" cannot start from phase "${phase}".`);
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
      mount();
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
      removeSignalHandlers = installSignalHandlers(
        options.shutdown?.signals ?? ['SIGTERM', 'SIGINT'],
        {
          logger: appLogger,
          stop: (reason) => stop({ reason, readinessDelay: shutdownSettings.readinessDelay }),
          exit: options.shutdown?.exit ?? ((code) => process.exit(code)),
        },
      );
    }
    appLogger.info(
      { url: listeningUrl, plugins: records.map((r) => r.plugin.name) },
      'app listening',
    );
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
      await shutdownPlugins(
        records.filter(
          (record) => record.status.state !== 'registered' && record.status.state !== 'failed',
        ),
      );
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

/**
 * One admin guard per app: a second one would silently replace the first (the control panel's
 * `guard` option and another plugin's `setAdminGuard` both installing one), so it fails start-up.
 */
function secondGuardError(
  installed: AdminGuard,
  installedBy: string,
  next: AdminGuard,
  nextBy: string,
): ConfigError {
  return new ConfigError([
    {
      name: 'admin guard',
      received: `a second guard "${next.name}" from ${nextBy}`,
      expected: `one guard; "${installed.name}" from ${installedBy} is already installed (give a custom guard as the control panel's guard option, or install one with setAdminGuard, not both)`,
    },
  ]);
}
