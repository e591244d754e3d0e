import { HttpError } from '../../core/errors.js';
import { MANAGEMENT_TOKEN_ENV } from '../../core/management.js';
import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { ProcessSupervisor, type SupervisedStatus } from '../../core/supervisor.js';
import { servicesOptions, type ServicesConfig, type ServicesOptions } from './options.js';
import { servicesPanel } from './panel.js';

export type { LocalServiceOptions, ServicesConfig, ServicesOptions } from './options.js';

export { ProcessSupervisor } from '../../core/supervisor.js';
export type {
  RestartPolicy,
  SupervisedState,
  SupervisedStatus,
  SupervisorOptions,
} from '../../core/supervisor.js';
export { SERVICES_ERRORS } from './errors.js';

/** Most output lines one `GET /api/services/:name/logs` answers (the supervisor keeps 1 000). */
const MAX_LOG_LINES = 1_000;

/** The supervised services of a gateway, for routes and the control panel. */
export interface LocalServices {
  list(): (SupervisedStatus & { url: string })[];
  get(name: string): ProcessSupervisor | undefined;
}

declare module '../../core/services.js' {
  interface Services {
    localServices: LocalServices;
  }
}

/**
 * Starts each service as a child process with its PORT, restarts it with backoff when it
 * crashes, checks its readiness over HTTP (informational: the gateway stays ready without it),
 * and stops it with the gateway.
 * @example createServicesPlugin({ services: [{ name: 'api', command: 'node', args: ['service.js'], port: 3100 }] })
 */
export function createServicesPlugin(options: ServicesOptions = {}): ServerPlugin<ServicesConfig> {
  const supervisors = new Map<string, { supervisor: ProcessSupervisor; url: string }>();
  return {
    name: 'services',
    version: CORE_VERSION,
    ui: servicesPanel,
    order: PLUGIN_ORDER.processes,
    config: { schema: servicesOptions, options },
    onInit(ctx) {
      // Each service gets the gateway's management token, so the gateway holds the credential to its admin routes.
      const token = ctx.app.managementToken();
      const childEnv: Record<string, string> =
        token === undefined ? {} : { [MANAGEMENT_TOKEN_ENV]: token };
      for (const service of ctx.config.services) {
        const url = `http://${service.host}:${service.port}`;
        const supervisor = new ProcessSupervisor({
          name: service.name,
          command: service.command,
          args: service.args,
          cwd: service.cwd,
          env: { ...childEnv, ...service.env, PORT: String(service.port), HOST: service.host },
          logger: ctx.logger,
          restart: service.restart,
          stopTimeout: service.stopTimeout,
        });
        supervisors.set(service.name, { supervisor, url });
        ctx.addHealthCheck({
          name: `service:${service.name}`,
          critical: false,
          interval: service.healthInterval,
          timeout: service.healthTimeout,
          run: async () => {
            const response = await fetch(`${url}${service.healthPath}`, {
              signal: AbortSignal.timeout(service.healthTimeout),
            });
            await response.body?.cancel();
            if (!response.ok)
              return {
                status: 'unhealthy',
                message: `${service.healthPath} answered ${response.status}`,
              };
          },
        });
      }
      ctx.provide('localServices', {
        list: () =>
          [...supervisors.values()].map(({ supervisor, url }) => ({ ...supervisor.status(), url })),
        get: (name) => supervisors.get(name)?.supervisor,
      });
    },
    async onReady() {
      // Start without waiting for health: the gateway is up whatever its services do.
      await Promise.all([...supervisors.values()].map(({ supervisor }) => supervisor.start()));
    },
    async onShutdown() {
      await Promise.all([...supervisors.values()].map(({ supervisor }) => supervisor.stop()));
    },
    routes: [
      {
        method: 'get',
        path: '/api/services',
        access: 'admin',
        permission: 'services:read',
        handler: (req, res) =>
          void res.json({ services: req.context.services.get('localServices').list() }),
      },
      {
        method: 'get',
        path: '/api/services/:name/logs',
        access: 'admin',
        permission: 'services:read',
        handler: (req, res) => {
          const supervisor = req.context.services.get('localServices').get(String(req.params.name));
          if (!supervisor)
            throw new HttpError(
              404,
              'SERVICES_NOT_FOUND',
              `No service named "${req.params.name}".`,
            );
          const raw = req.query.limit ?? '200';
          const limit = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
          if (!(limit >= 1 && limit <= MAX_LOG_LINES)) {
            throw new HttpError(
              400,
              'SERVICES_INVALID_LIMIT',
              `limit must be a whole number from 1 to ${MAX_LOG_LINES} (got ${JSON.stringify(String(raw)).slice(0, 40)}).`,
            );
          }
          res.json({ lines: supervisor.logs(limit) });
        },
      },
    ],
  };
}
