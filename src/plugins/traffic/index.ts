import type { PluginContext } from '../../core/context.js';
import { MANAGEMENT_TOKEN_ENV } from '../../core/management.js';
import type { ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import type { ServiceController } from './controller.js';
import {
  trafficOptionsSchema,
  type TrafficConfig,
  type TrafficOptions,
  type TrafficServiceConfig,
} from './options.js';
import type { ServiceLayout } from './orchestrators/types.js';
import { trafficPanel } from './panel.js';
import { releaseRoutes } from './release-routes.js';
import type { TrafficReleases } from './releases.js';
import { resolveRoute } from './route.js';
import { trafficRoutes } from './routes.js';
import type { MachineSettings } from './state.js';
import type { TrafficStore } from './store.js';
import type { TrafficCluster } from './cluster.js';
import type { RenewableOrchestrator } from './renewable-orchestrator.js';
import type { ManagedService, Traffic } from './traffic.js';

export type {
  TrafficConfig,
  TrafficOptions,
  TrafficServiceConfig,
  TrafficServiceOptions,
} from './options.js';
export type { OrchestratorConfig, OrchestratorOptions } from './orchestrators/options.js';
export type { Orchestrator, ReleaseSpec, SlotRef, SlotRuntime } from './orchestrators/types.js';
export type { MachineSettings, ServiceState, Slot, SlotState, Transition } from './state.js';
export type { Effect, Rejection, StepResult, TrafficEvent } from './machine.js';
export type { ServiceView, SlotColour, SlotView, TransitionView } from './view.js';
export type { Traffic, TrafficRole } from './traffic.js';
export { step, promotionBlocker, warmPrevious } from './machine.js';
export { initialServiceState } from './state.js';
export { TRAFFIC_ERRORS } from './errors.js';

declare module '../../core/services.js' {
  interface Services {
    traffic: Traffic;
  }
}

export type TrafficPluginOptions = TrafficOptions & {
  /** The clock every deadline is measured with (epoch ms). Default `Date.now`. */
  now?: () => number;
};

/** The rules' view of one service's options. */
export function machineSettings(
  service: TrafficServiceConfig,
  config: TrafficConfig,
): MachineSettings {
  return {
    promotionChecks: service.promotionChecks,
    promotionDelay: service.promotionDelay,
    autoPromote: service.autoPromote,
    rollbackWindow: config.rollback.window,
    automaticRollback: config.rollback.automatic,
    failureThreshold: service.failureThreshold,
    startTimeout: service.startTimeout,
    dev: service.dev,
    idleTimeout: service.idleTimeout,
    historyLimit: config.historyLimit,
  };
}

async function openStore(ctx: PluginContext<TrafficConfig>): Promise<TrafficStore> {
  const { type, path, table } = ctx.config.store;
  const database = ctx.tryGet('database');
  if (type === 'database' && !database)
    throw new Error(
      'store.type is "database" but the database plugin is not registered; add createDatabasePlugin() or use store.type "file".',
    );
  // PostgreSQL can lock and notify across instances: gateways on it share the state.
  if (database && type !== 'file' && database.holdLock && database.listen) {
    const { SharedStore } = await import('./shared-store.js');
    const store = new SharedStore(database, table);
    await store.open();
    return store;
  }
  if (database && type !== 'file') {
    const { DatabaseStore } = await import('./db-store.js');
    const store = new DatabaseStore(database, table);
    await store.open();
    return store;
  }
  const { FileStore } = await import('./store.js');
  return new FileStore(path);
}

/**
 * Traffic-light deployment on the gateway: each service has slots; a deploy starts a version in
 * a free slot, health checks gate its promotion, promotion switches the route atomically, the
 * previous release stays warm for an instant rollback, and every transition is recorded. The
 * state survives gateway restarts (a JSON file, or a table when the database plugin is present).
 * On PostgreSQL several gateways share it: the one holding an advisory lock drives the
 * orchestrator, the others switch their routes as each change is committed (LISTEN/NOTIFY) and
 * hand their commands to it; when it dies another takes the lock and carries on (`replicas`).
 *
 * Its admin API (`/cpanel/api/traffic`) takes, besides admins, callers that hold the command's
 * permission for the service it acts on: `traffic:deploy`, `traffic:promote`, `traffic:rollback`,
 * `traffic:abort`, `traffic:read` (status, slots, history, logs), each narrowed to one service as
 * `traffic:deploy:api` (a CI key that deploys `api` and nothing else). With the process
 * orchestrator, `PUT /releases/:service/:version` (`traffic:deploy`) stores a release's code
 * (`qwickapps release`), which `deploy` of that version then runs in its own folder.
 * @example
 * createTrafficPlugin({
 *   services: [{ name: 'api', slots: ['slot-a', 'slot-b'], promotionDelay: 10_000 }],
 *   rollback: { window: 15 * 60_000, automatic: true },
 *   orchestrator: { type: 'process', command: process.execPath, args: ['dist/demo/service.js'], env: { VERSION: '{version}' }, ports: { from: 3100, step: 2 } },
 * })
 */
export function createTrafficPlugin(options: TrafficPluginOptions): ServerPlugin<TrafficConfig> {
  const { now = Date.now, ...settings } = options;
  const managed = new Map<string, ManagedService>();
  let traffic: Traffic | undefined;
  let orchestrator: RenewableOrchestrator | undefined;
  let store: TrafficStore | undefined;
  let cluster: TrafficCluster | undefined;
  let releases: TrafficReleases | undefined;

  return {
    name: 'traffic',
    version: CORE_VERSION,
    dependencies: ['routing'],
    // The slot store lives in the database when there is one, so it must be open first.
    optionalDependencies: ['database'],
    config: { schema: trafficOptionsSchema, options: settings },

    async onInit(ctx) {
      const config = ctx.config;
      const router = ctx.get('routing');
      const known = router.routes();
      const routes = new Map(
        config.services.map((service, index) => [
          service.name,
          resolveRoute(known, service, index),
        ]),
      );
      const [
        { createOrchestrator },
        { ServiceController },
        { Traffic },
        { createTrafficGuard },
        { RenewableOrchestrator },
      ] = await Promise.all([
        import('./orchestrators/index.js'),
        import('./controller.js'),
        import('./traffic.js'),
        import('./guard.js'),
        import('./renewable-orchestrator.js'),
      ]);
      const layout: ServiceLayout[] = config.services.map(
        ({ name, slots, release, ports, image }) => ({ name, slots, release, ports, image }),
      );
      // Releases get the gateway's management token: it then holds the credential to their admin routes.
      const token = ctx.app.managementToken();
      // Local processes can run uploaded code; container orchestrators deploy images instead.
      const uploads =
        config.orchestrator.type === 'process' ? await import('./releases.js') : undefined;
      if (uploads)
        releases = new uploads.TrafficReleases(
          config.releases.path,
          config.services.map((service) => service.name),
          config.releases,
          (service) => uploads.keptVersions(managed.get(service)?.controller.state.slots ?? []),
          ctx.logger,
        );
      // A fresh instance each time this gateway takes the orchestrator over (see replicas).
      const openOrchestrator = async () => {
        const created = await createOrchestrator(
          config.orchestrator,
          layout,
          ctx.logger,
          token === undefined ? {} : { [MANAGEMENT_TOKEN_ENV]: token },
        );
        return uploads && releases
          ? uploads.withReleases(created, releases, config.releases.required)
          : created;
      };
      orchestrator = new RenewableOrchestrator(await openOrchestrator(), openOrchestrator);
      for (const service of config.services) {
        const controller: ServiceController = new ServiceController({
          config: service,
          settings: machineSettings(service, config),
          orchestrator,
          router,
          route: routes.get(service.name)!,
          logger: ctx.logger,
          now,
          tickInterval: config.tickInterval,
          restartDelay: config.restartDelay,
          errorRate: config.rollback.errorRate,
        });
        managed.set(service.name, {
          config: service,
          settings: machineSettings(service, config),
          route: routes.get(service.name)!,
          controller,
        });
      }
      // Uploads go to the shared database when it is a server, so every gateway runs them.
      await releases?.choose(ctx.tryGet('database'));
      orchestrator.onExit((ref, message) =>
        managed.get(ref.service)?.controller.exited(ref.slot, message),
      );
      traffic = new Traffic(
        managed,
        orchestrator,
        now,
        () => cluster?.role ?? 'standalone',
        // Only once gateways share the state; until then (and alone) the orchestrator answers.
        (service, question) =>
          cluster
            ? cluster.ask(service, question)
            : question.type === 'runtime'
              ? orchestrator!.status({ service, slot: question.slot })
              : orchestrator!.logs({ service, slot: question.slot }, question.limit),
      );
      ctx.provide('traffic', traffic);
      ctx.app.edge.add(
        createTrafficGuard(
          config.services.map((service) => ({
            controller: managed.get(service.name)!.controller,
            route: routes.get(service.name)!,
            dev: service.dev,
            wakeTimeout: service.wakeTimeout,
            healthInterval: service.healthInterval,
            promotionChecks: service.promotionChecks,
          })),
          now,
        ),
      );
      ctx.addHealthCheck({
        name: 'traffic',
        critical: false,
        run: async () => {
          const services = traffic!.services();
          const missing = services
            .filter((service) => !service.active && !service.dev)
            .map((service) => service.name);
          return {
            status: missing.length === 0 ? 'healthy' : 'degraded',
            message: missing.length === 0 ? undefined : `no active release: ${missing.join(', ')}`,
            details: Object.fromEntries(
              services.map((service) => [
                service.name,
                service.active ? `${service.active.slot} ${service.active.version}` : 'none',
              ]),
            ),
          };
        },
      });
    },

    routes: (ctx) => [
      ...trafficRoutes(
        ctx.config.apiPath,
        () => traffic!,
        (req) => ctx.app.adminGuard()?.identify?.(req),
      ),
      ...releaseRoutes(
        ctx.config.apiPath,
        () => traffic!,
        () => releases,
      ),
    ],
    ui: (ctx) =>
      trafficPanel(
        ctx.config.apiPath,
        ctx.config.services,
        ctx.config.orchestrator.type === 'process',
      ),

    // After every onInit, so the database plugin (when present) is open whatever the order.
    async onReady(ctx) {
      store = await openStore(ctx);
      const { SharedStore } = await import('./shared-store.js');
      if (store instanceof SharedStore) {
        const { TrafficCluster } = await import('./cluster.js');
        cluster = new TrafficCluster({
          store,
          database: ctx.get('database'),
          controllers: new Map(
            [...managed.values()].map(({ controller }) => [controller.name, controller]),
          ),
          orchestrator: orchestrator!,
          logger: ctx.logger,
          ...ctx.config.replicas,
        });
        await cluster.start();
      } else {
        const saved = await store.load();
        for (const { controller } of managed.values())
          await controller.open(store, saved.get(controller.name));
      }
      ctx.logger.info(
        {
          role: traffic!.role(),
          store: store.description,
          orchestrator: orchestrator!.type,
          services: [...managed.keys()],
        },
        'traffic ready',
      );
    },

    async onShutdown() {
      await Promise.all([...managed.values()].map(({ controller }) => controller.close()));
      await orchestrator?.close();
      // Last: the lock is free for another gateway once nothing here drives the orchestrator.
      await cluster?.stop();
      await store?.close();
    },
  };
}
