import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import { MANAGEMENT_TOKEN_ENV } from '../../core/management.js';
import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { ProcessSupervisor, type SupervisedStatus } from '../../core/supervisor.js';
import { servicesPanel } from './panel.js';

export { ProcessSupervisor } from '../../core/supervisor.js';
export type { RestartPolicy, SupervisedState, SupervisedStatus, SupervisorOptions } from '../../core/supervisor.js';
export { SERVICES_ERRORS } from './errors.js';

const restartSchema = z
  .object({
    initialDelay: z.number().int().positive().default(500),
    maxDelay: z.number().int().positive().default(30_000),
    factor: z.number().min(1).default(2),
    resetAfter: z.number().int().positive().default(30_000),
  })
  .prefault({});

const serviceSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a lower-case name like "api"'),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  /** Given to the process as PORT; the health check and routes reach it there. */
  port: z.number().int().min(1).max(65535),
  host: z.string().default('127.0.0.1'),
  /** Readiness endpoint of the service. Default `/health/ready`. */
  healthPath: z.string().startsWith('/').default('/health/ready'),
  healthInterval: z.number().int().positive().default(2_000),
  healthTimeout: z.number().int().positive().default(1_000),
  restart: z.union([z.literal(false), restartSchema]).default(() => restartSchema.parse({})),
  stopTimeout: z.number().int().positive().default(10_000),
});

/** Most output lines one `GET /api/services/:name/logs` answers (the supervisor keeps 1 000). */
const MAX_LOG_LINES = 1_000;

const servicesOptions = z.object({ services: z.array(serviceSchema).default([]) });

export type ServicesOptions = z.input<typeof servicesOptions>;
export type LocalServiceOptions = z.input<typeof serviceSchema>;

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
export function createServicesPlugin(options: ServicesOptions = {}): ServerPlugin<z.output<typeof servicesOptions>> {
  const supervisors = new Map<string, { supervisor: ProcessSupervisor; url: string }>();
  return {
    name: 'services',
    ui: servicesPanel,
    order: PLUGIN_ORDER.processes,
    config: { schema: servicesOptions, options },
    onInit(ctx) {
      // Each service gets the gateway's management token, so the gateway holds the credential to its admin routes.
      const token = ctx.app.managementToken();
      const childEnv: Record<string, string> = token === undefined ? {} : { [MANAGEMENT_TOKEN_ENV]: token };
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
            const response = await fetch(`${url}${service.healthPath}`, { signal: AbortSignal.timeout(service.healthTimeout) });
            await response.body?.cancel();
            if (!response.ok) return { status: 'unhealthy', message: `${service.healthPath} answered ${response.status}` };
          },
        });
      }
      ctx.provide('localServices', {
        list: () => [...supervisors.values()].map(({ supervisor, url }) => ({ ...supervisor.status(), url })),
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
        handler: (req, res) => void res.json({ services: req.context.services.get('localServices').list() }),
      },
      {
        method: 'get',
        path: '/api/services/:name/logs',
        access: 'admin',
        handler: (req, res) => {
          const supervisor = req.context.services.get('localServices').get(String(req.params.name));
          if (!supervisor) throw new HttpError(404, 'SERVICES_NOT_FOUND', `No service named "${req.params.name}".`);
          const raw = req.query.limit ?? '200';
          const limit = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
          if (!(limit >= 1 && limit <= MAX_LOG_LINES)) {
            throw new HttpError(400, 'SERVICES_INVALID_LIMIT', `limit must be a whole number from 1 to ${MAX_LOG_LINES} (got ${JSON.stringify(String(raw)).slice(0, 40)}).`);
          }
          res.json({ lines: supervisor.logs(limit) });
        },
      },
    ],
  };
}
