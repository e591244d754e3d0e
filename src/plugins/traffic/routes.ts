import type { Request } from 'express';
import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import type { QualifiedPermission, RouteDefinition } from '../../core/plugin.js';
import type { Traffic } from './traffic.js';
import { versionSchema } from './version.js';

const serviceName = z.string().min(1).max(64);
const deployBody = z.strictObject({
  service: serviceName.optional(),
  version: versionSchema,
  force: z.boolean().optional(),
});
const commandBody = z.strictObject({ service: serviceName.optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`,
  );
  throw new HttpError(400, 'TRAFFIC_INVALID_REQUEST', `Invalid request: ${problems.join('; ')}.`, {
    details: { problems },
  });
}

/** The one service when there is only one; otherwise it must be named. */
function serviceOf(traffic: Traffic, given: string | undefined): string {
  if (given !== undefined) return given;
  const names = traffic.serviceNames();
  if (names.length === 1) return names[0];
  throw new HttpError(
    400,
    'TRAFFIC_SERVICE_REQUIRED',
    `Name the service: one of ${names.join(', ')}.`,
  );
}

/** Who is acting on a request that passed the admin gate (the guard's `identify`). */
export type ActorLookup = (req: Request) => string | undefined;

/**
 * Who asked, for the transition record: the user the admin guard identified (a panel session or
 * Basic credentials it verified). Without a guard only direct local callers get through.
 */
export function actorOf(req: Request, identify: ActorLookup): string {
  const user = identify(req);
  return user ? user.slice(0, 128) : 'local';
}

function limitOf(value: unknown, fallback: number, max: number): number {
  const parsed = Number(value ?? fallback);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new HttpError(
      400,
      'TRAFFIC_INVALID_REQUEST',
      `limit must be a whole number from 1 to ${max}.`,
    );
  return Math.min(parsed, max);
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * `traffic:<verb>` narrowed to the service the call acts on, read from where its handler reads
 * it (`from`), so the check and the handler never disagree about which service that is: the
 * body (deploy, promote, rollback, abort; without one, the only service there is, as
 * `serviceOf` decides), the query (`?service=`) or the path. A key scoped to
 * `traffic:deploy:api` deploys `api` and nothing else; `traffic:deploy`, `traffic:*` and `*`
 * deploy any. Without a service to name (a list of all of them) the caller needs the verb on
 * every service.
 */
export function perService(
  verb: 'read' | 'deploy' | 'promote' | 'rollback' | 'abort',
  from: 'body' | 'query' | 'params',
  traffic: () => Traffic,
): QualifiedPermission {
  return {
    permission: `traffic:${verb}`,
    qualifier(req) {
      if (from === 'query') return text(req.query.service);
      if (from === 'params') return text(req.params.service);
      const named = (req.body as { service?: unknown } | undefined)?.service;
      if (named !== undefined) return text(named);
      const names = traffic().serviceNames();
      return names.length === 1 ? names[0] : undefined;
    },
  };
}

/** The guarded HTTP API under `basePath` (default `/cpanel/api/traffic`). */
export function trafficRoutes(
  basePath: string,
  traffic: () => Traffic,
  identify: ActorLookup = () => undefined,
): RouteDefinition[] {
  const command = (
    name: 'promote' | 'rollback' | 'abort',
    description: string,
  ): RouteDefinition => ({
    method: 'post',
    path: `${basePath}/${name}`,
    access: 'admin',
    permission: perService(name, 'body', traffic),
    description,
    handler: async (req, res) => {
      const body = parse(commandBody, req.body);
      res.json(await traffic()[name](serviceOf(traffic(), body.service), actorOf(req, identify)));
    },
  });
  return [
    {
      method: 'get',
      path: basePath,
      access: 'admin',
      permission: perService('read', 'query', traffic),
      description: 'Every service with its slots, active release and rollback window',
      handler: (req, res) => {
        const service = text(req.query.service);
        res.json({
          services: service === undefined ? traffic().services() : [traffic().service(service)],
        });
      },
    },
    {
      method: 'get',
      path: `${basePath}/slots`,
      access: 'admin',
      permission: 'traffic:read',
      description: 'Every slot of every service, one row each',
      handler: (_req, res) => void res.json({ slots: traffic().slots() }),
    },
    {
      method: 'post',
      path: `${basePath}/deploy`,
      access: 'admin',
      permission: perService('deploy', 'body', traffic),
      description:
        'Starts a version in a free slot; it is promoted once healthy (automatically or on request)',
      handler: async (req, res) => {
        const body = parse(deployBody, req.body);
        const view = await traffic().deploy(
          serviceOf(traffic(), body.service),
          body.version,
          actorOf(req, identify),
          body.force,
        );
        res.status(202).json(view);
      },
    },
    {
      method: 'get',
      path: `${basePath}/deploy`,
      access: 'admin',
      // Who may deploy a service may follow its deploy: a CI key needs no read scope besides.
      permission: perService('deploy', 'query', traffic),
      description:
        "One service's slots and active release (`?service=`), for who may deploy it: a deploy's progress",
      handler: (req, res) =>
        void res.json(traffic().service(serviceOf(traffic(), text(req.query.service)))),
    },
    command(
      'promote',
      'Switches the route to the healthy candidate; the active release stays warm for rollback',
    ),
    command('rollback', 'Switches the route back to the previous release while it is warm'),
    command('abort', 'Stops a starting or candidate release'),
    {
      method: 'get',
      path: `${basePath}/history`,
      access: 'admin',
      permission: perService('read', 'query', traffic),
      description: 'Slot transitions with time, actor and reason, newest first',
      handler: (req, res) =>
        void res.json({
          transitions: traffic().history(
            text(req.query.service),
            limitOf(req.query.limit, 100, 1_000),
          ),
        }),
    },
    {
      method: 'get',
      path: `${basePath}/services/:service/slots/:slot/logs`,
      access: 'admin',
      permission: perService('read', 'params', traffic),
      description: "A slot's recent output lines and its runtime status",
      handler: async (req, res) => {
        const { service, slot } = req.params as { service: string; slot: string };
        const limit = limitOf(req.query.limit, 200, 5_000);
        res.json({
          runtime: await traffic().runtime(service, slot),
          lines: await traffic().logs(service, slot, limit),
        });
      },
    },
  ];
}
