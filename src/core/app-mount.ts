import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AdminGate } from './admin-gate.js';
import { BodyReader, hasBody } from './body.js';
import type { AppContext, PluginContext, RouteRecord } from './context.js';
import type { RoutePaths } from './route-paths.js';
import { NO_HEADERS, type EdgeExchange, type EdgeNext, type EdgePipeline } from './edge.js';
import { FastRoutes, type Handler } from './fast-routes.js';
import { normaliseTarget } from './path.js';
import { ConfigError } from './errors.js';
import type { PluginStatus, RouteDefinition, ServerPlugin } from './plugin.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { requestPreparer } from './request-log.js';
import type { UIContribution } from './ui.js';

/** A plugin as the app runs it: its status, its context once initialised, its parsed config. */
export interface PluginRecord {
  plugin: ServerPlugin<unknown>;
  status: PluginStatus;
  context?: PluginContext<unknown>;
  config: unknown;
}

/** What mounting needs of the app being built. */
export interface MountTarget {
  expressApp: Express;
  records: readonly PluginRecord[];
  context: AppContext;
  logger: Logger;
  bodyLimit: number | string;
  edge: EdgePipeline;
  adminGate: AdminGate;
  controlPlane: RoutePaths;
  controlPlaneHooks: readonly RequestHandler[];
  /** Filled here: every route mounted, for `context.routes()`. */
  routeRecords: RouteRecord[];
  /** Filled here: every plugin's control-panel contribution, for `context.ui()`. */
  uiContributions: { plugin: string; contribution: UIContribution }[];
}

/**
 * Mounts what the plugins declare, after every `onInit`: the one request-preparing layer (edge
 * hooks, then the body), plugin middleware, routes (admin routes behind the gate, control-plane
 * routes behind their hooks), fallbacks last, then the 404 and error handlers.
 */
export function mountPlugins(target: MountTarget): void {
  const {
    expressApp,
    records,
    context,
    logger: appLogger,
    bodyLimit,
    edge,
    adminGate,
    controlPlane,
    controlPlaneHooks,
    routeRecords,
    uiContributions,
  } = target;
  // One layer for what every request needs: each Express layer costs a router step.
  const prepare = requestPreparer(appLogger, context);
  const body = new BodyReader(express.json({ limit: bodyLimit }), {
    caseSensitive: expressApp.enabled('case sensitive routing'),
    strict: expressApp.enabled('strict routing'),
  });
  const readBody = (req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (hasBody(req)) body.read(req, res, next);
    else next();
  };
  const hooked = edge.has('express');
  // One continuation for the lane; each request's own `next` rides on its exchange.
  const afterHooks: EdgeNext<ExpressExchange> = {
    proceed({ req, res, next, defaultHeaders, headers }) {
      for (let index = 0; index < defaultHeaders.length; index += 2)
        res.setHeader(defaultHeaders[index], defaultHeaders[index + 1]);
      for (let index = 0; index < headers.length; index += 2)
        res.setHeader(headers[index], headers[index + 1]);
      readBody(req as express.Request, res as express.Response, next);
    },
    fail: (exchange, error) => exchange.next(error),
  };
  expressApp.use((req, res, next) => {
    prepare(req, res);
    if (!hooked) return readBody(req, res, next);
    // The edge hooks (rate limits, security headers) before the body is read: a refused request
    // is answered without reading its upload.
    edge.run(expressExchange(req, res, next), afterHooks);
  });
  const middleware = records.flatMap((record) => {
    const list =
      typeof record.plugin.middleware === 'function'
        ? record.plugin.middleware(record.context!)
        : (record.plugin.middleware ?? []);
    return [...list].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  });
  for (const entry of middleware) {
    if (entry.path) expressApp.use(entry.path, entry.handler);
    else expressApp.use(entry.handler);
  }
  // Each control-plane request is counted once by the control-plane hooks (the rate limiter's
  // operator bucket): on its route once the gate let it in (per operator), or when the gate or
  // the body refused it (per address while nobody is known, so guessing credentials is limited
  // too), or with its 404 when no route answered.
  const counted = new WeakSet<object>();
  const countControl = controlPlaneHooks.length > 0 ? once(controlPlaneHooks, counted) : undefined;
  const countRefused: ErrorRequestHandler = (error, req, res, next) => {
    if (!countControl || counted.has(req) || res.headersSent) return next(error);
    countControl(req, res, (refusal?: unknown) => next(refusal || error));
  };
  const fastRoutes = new FastRoutes();
  expressApp.use(fastRoutes.middleware());
  const fallbacks: (() => void)[] = [];
  for (const record of records) {
    const routes =
      typeof record.plugin.routes === 'function'
        ? record.plugin.routes(record.context!)
        : (record.plugin.routes ?? []);
    for (const route of routes) {
      const access = route.access ?? 'public';
      const plane = route.plane ?? (access === 'admin' ? 'control' : 'data');
      if (plane === 'control') controlPlane.add(route.path);
      // An admin route reads its body only after the gate: a refusal comes before the upload.
      if (access === 'admin') body.deferFor(route.method, route.path);
      if (route.permission !== undefined) checkPermission(record.plugin.name, route);
      const afterBody = access === 'admin' ? adminGate.after(route.permission) : undefined;
      const handlers: Handler[] = [
        ...(route.except && route.except.length > 0 ? [stepPast(route.except)] : []),
        ...(access === 'admin' ? [adminGate.before(route.permission), body.afterGate] : []),
        ...(afterBody ? [afterBody] : []),
        ...(plane === 'control' && countControl ? [countControl, countRefused] : []),
        ...(Array.isArray(route.handler) ? route.handler : [route.handler]),
      ];
      const mount = () => {
        const stepAside = fastRoutes.add(route.method, route.path, handlers);
        expressApp[route.method](route.path, ...(stepAside ? [stepAside, ...handlers] : handlers));
      };
      if (route.fallback) fallbacks.push(mount);
      else mount();
      routeRecords.push({
        method: route.method,
        path: route.path,
        plugin: record.plugin.name,
        access,
        plane,
        ...(route.permission === undefined
          ? {}
          : {
              permission:
                typeof route.permission === 'string'
                  ? route.permission
                  : route.permission.permission,
            }),
        description: route.description,
      });
    }
    const ui =
      typeof record.plugin.ui === 'function' ? record.plugin.ui(record.context!) : record.plugin.ui;
    if (ui) uiContributions.push({ plugin: record.plugin.name, contribution: ui });
  }
  for (const mount of fallbacks) mount();
  expressApp.use(notFoundHandler());
  // A control-plane request no route took counts here: an unrouted path (`/cpanel/api/nothing`)
  // before its 404, a body refused before the routes (a public route's malformed JSON).
  if (countControl)
    expressApp.use(((error, req, res, next) =>
      controlPlane.includes(req)
        ? countRefused(error, req, res, next)
        : next(error)) as ErrorRequestHandler);
  expressApp.use(errorHandler(appLogger));
}

/** Runs `hooks` in turn, at most once per request however many routes it passes. */
function once(hooks: readonly RequestHandler[], done: WeakSet<object>): RequestHandler {
  return (req, res, next) => {
    if (done.has(req)) return next();
    done.add(req);
    let index = 0;
    const step = (error?: unknown): void => {
      if (error || index === hooks.length) return next(error);
      const returned: unknown = hooks[index++](req, res, step);
      if (returned instanceof Promise) returned.catch(next);
    };
    step();
  };
}

/** A route steps aside (`next('route')`) for paths under these prefixes, before anything runs. */
function stepPast(prefixes: readonly string[]): RequestHandler {
  const lower = prefixes.map((prefix) => prefix.toLowerCase());
  return (req, _res, next) => {
    const path = req.path.toLowerCase();
    return lower.some((prefix) => path.startsWith(prefix)) ? next('route') : next();
  };
}

/** `action:resource` (or `*`): what `RouteDefinition.permission` may name. */
const PERMISSION = /^(\*|[^:\s]+:\S+)$/;

/** A route's permission must be a permission, on an admin route: a public route checks nothing. */
function checkPermission(plugin: string, route: RouteDefinition): void {
  const name =
    typeof route.permission === 'string' ? route.permission : route.permission?.permission;
  const option = `plugins.${plugin} route ${route.method.toUpperCase()} ${route.path} permission`;
  if (route.access !== 'admin')
    throw new ConfigError([
      {
        name: option,
        received: JSON.stringify(name),
        expected: "an admin route (access: 'admin'): public routes are open to anyone",
      },
    ]);
  if (name === undefined || !PERMISSION.test(name))
    throw new ConfigError([
      {
        name: option,
        received: JSON.stringify(name),
        expected: 'a permission action:resource, like traffic:deploy',
      },
    ]);
}

interface ExpressExchange extends EdgeExchange {
  readonly next: express.NextFunction;
}

/** An Express-lane request as the edge hooks see it: Express matches its route later. */
function expressExchange(
  req: express.Request,
  res: express.Response,
  next: express.NextFunction,
): ExpressExchange {
  const url = req.url;
  const target = normaliseTarget(url);
  const end = url.indexOf('?');
  // A path routing would refuse still counts, as what it says (Express answers it).
  const path = 'error' in target ? (end === -1 ? url : url.slice(0, end)) : target.path;
  return {
    req,
    res,
    next,
    lane: 'express',
    upgrade: false,
    path,
    route: undefined,
    requestId: req.id,
    defaultHeaders: NO_HEADERS,
    defaultDataHeaders: NO_HEADERS,
    headers: [],
    upstreamHeaders: [],
  };
}
