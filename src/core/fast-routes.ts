import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { HttpMethod } from './plugin.js';

const SKIP = Symbol('qwickapps.fastRouteDone');
/** path-to-regexp syntax: a path with any of these is matched by Express, never looked up. */
const DYNAMIC = /[:*{}()?+\\]/;

type Skippable = Request & { [SKIP]?: string };
/** A route's handlers, as Express takes them: error handlers have four parameters. */
export type Handler = RequestHandler | ErrorRequestHandler;

/**
 * Routes with a fixed path, answered by one map lookup instead of Express's walk over every
 * route layer (most of a small handler's cost on Node 20). Each stays registered with Express
 * too, so anything the lookup does not take (other letter case, a trailing slash, a route after
 * a dynamic one) is routed by Express exactly as before.
 *
 * Order is kept: a fixed route is taken only while no dynamic route of its method came before
 * it, since Express would have tried that one first.
 */
export class FastRoutes {
  private readonly table = new Map<string, Handler[]>();
  private readonly afterDynamic = new Set<string>();

  /**
   * Registers a route; returns the handler to put first on its Express route, which steps
   * aside when the lookup already ran that route for this request.
   */
  add(method: HttpMethod, path: string, handlers: Handler[]): RequestHandler | undefined {
    const verb = method.toUpperCase();
    if (DYNAMIC.test(path)) {
      this.afterDynamic.add(verb);
      return undefined;
    }
    if (verb === 'ALL' || this.afterDynamic.has(verb) || this.afterDynamic.has('ALL'))
      return undefined;
    const key = `${verb} ${path}`;
    if (this.table.has(key)) return undefined;
    this.table.set(key, handlers);
    return (req, _res, next) => ((req as Skippable)[SKIP] === key ? next('route') : next());
  }

  /** The lookup, mounted after every plugin middleware and before the routes. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      let key = `${req.method} ${req.path}`;
      let handlers = this.table.get(key);
      if (!handlers && req.method === 'HEAD') handlers = this.table.get((key = `GET ${req.path}`));
      if (!handlers) return next();
      const chain = handlers;
      const done = key;
      let index = 0;
      // Express's own contract: next() goes on to the next request handler, next(error) to the
      // chain's next error handler (four parameters), else to the app's; a rejected promise is
      // an error; next('route') or running off the end hands over to the router. One closure
      // per request.
      const step = (error?: unknown): void => {
        const failed = Boolean(error) && error !== 'route' && error !== 'router';
        if (!failed && error) index = chain.length;
        // As Express's layers: an error goes to four parameters only, a request to three or fewer.
        while (
          index < chain.length &&
          (failed ? chain[index].length !== 4 : chain[index].length > 3)
        )
          index++;
        if (index >= chain.length) {
          if (failed) return next(error);
          (req as Skippable)[SKIP] = done;
          return next();
        }
        const handler = chain[index++];
        try {
          const result: unknown = failed
            ? (handler as ErrorRequestHandler)(error, req, res, step)
            : (handler as RequestHandler)(req, res, step);
          if (result && typeof (result as Promise<unknown>).then === 'function') {
            (result as Promise<unknown>).then(undefined, (rejection: unknown) =>
              step(rejection ?? new Error('Rejected promise')),
            );
          }
        } catch (thrown) {
          step(thrown);
        }
      };
      step();
    };
  }
}
