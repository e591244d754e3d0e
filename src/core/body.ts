import type http from 'node:http';
import { Router, type Request, type RequestHandler } from 'express';
import type { HttpMethod } from './plugin.js';

const DEFERRED = Symbol('qwickapps.bodyDeferred');
type Deferrable = Request & { [DEFERRED]?: boolean };

/** A request carries a body (even an empty one) when it says so, as body-parser decides it. */
export function hasBody(req: http.IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined
  );
}

/**
 * Reads JSON bodies in the kernel's first layer, except for requests bound for an `admin`
 * route: those are read only once the admin gate let them through, so an unauthenticated
 * caller is answered 401 before a byte of its body is buffered (not 413, not after a megabyte).
 *
 * Whether a request is bound for an admin route is decided by Express's own router, built with
 * the app's routing options from the admin routes alone, so it agrees with the router about
 * letter case, trailing slashes and parameters. It runs only for requests that carry a body and
 * only over the admin routes of the request's method: a GET without a body costs nothing more.
 */
export class BodyReader {
  private readonly admin: { method: HttpMethod; path: string }[] = [];
  private routers?: Map<string, RequestHandler>;

  constructor(
    private readonly parse: RequestHandler,
    private readonly routing: { caseSensitive: boolean; strict: boolean },
  ) {}

  /** An admin route: a request that matches it has its body read after the gate (`afterGate`). */
  deferFor(method: HttpMethod, path: string): void {
    this.admin.push({ method, path });
    this.routers = undefined;
  }

  /** For the first layer, for a request that carries a body. */
  read: RequestHandler = (req, res, next) => {
    const router = req.method === 'OPTIONS' ? undefined : this.routerFor(req.method);
    if (!router) return this.parse(req, res, next);
    // The matching router sets req.route; the app's router sets it again when it routes.
    const route: unknown = req.route;
    void router(req, res, (error?: unknown) => {
      req.route = route;
      if (error) return next(error);
      if ((req as Deferrable)[DEFERRED]) return next();
      this.parse(req, res, next);
    });
  };

  /** Mounted right after the admin gate: reads the body the first layer left unread. */
  afterGate: RequestHandler = (req, res, next) => {
    if (!(req as Deferrable)[DEFERRED]) return next();
    (req as Deferrable)[DEFERRED] = false;
    this.parse(req, res, next);
  };

  private routerFor(method: string): RequestHandler | undefined {
    this.routers ??= this.build();
    return this.routers.get(method) ?? this.routers.get('*');
  }

  /** One matching router per method (GET serves HEAD too; `all` routes join every one). */
  private build(): Map<string, RequestHandler> {
    const keysOf = (method: HttpMethod) =>
      method === 'all' ? ['*'] : method === 'get' ? ['GET', 'HEAD'] : [method.toUpperCase()];
    const keys = new Set(this.admin.flatMap((route) => keysOf(route.method)));
    const mark: RequestHandler = (req, _res, next) => {
      (req as Deferrable)[DEFERRED] = true;
      next('router');
    };
    const routers = new Map<string, RequestHandler>();
    for (const key of keys) {
      const router = Router({
        caseSensitive: this.routing.caseSensitive,
        strict: this.routing.strict,
      });
      for (const route of this.admin) {
        if (route.method === 'all' || keysOf(route.method).includes(key))
          router.all(route.path, mark);
      }
      routers.set(key, router);
    }
    return routers;
  }
}
