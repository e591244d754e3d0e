import type { Logger } from 'pino';
import type { EdgeRoute } from '../../core/edge.js';
import { HttpError } from '../../core/errors.js';
import { bySpecificity, compileMatch, type PathMatcher } from '../../core/path.js';
import type { ProxyRouteConfig, RouteConfig } from './options.js';
import type { Upstream, UpstreamHealth, UpstreamRegistry } from './upstream.js';

export type RouteKind = 'proxy' | 'rewrite' | 'redirect' | 'static';

/** A route as `routes()` and `GET /api/routing/routes` list it. */
export interface RouteInfo {
  id: string;
  match: string;
  kind: RouteKind;
  /** Proxy: the current upstream. Rewrite/redirect: where it points. Static: the folder. */
  target: string;
  ws?: boolean;
  status?: number;
  health?: UpstreamHealth;
}

export interface CompiledRoute {
  id: string;
  kind: RouteKind;
  matcher: PathMatcher;
  config: RouteConfig;
  /** Proxy routes only; replaced as a whole by setTarget, so a request sees one or the other. */
  upstream?: Upstream;
  /** Proxy routes: what the authenticate and guard hooks ask of the caller. */
  auth?: 'required' | 'optional';
  permissions?: readonly string[];
  /** What edge hooks see of the route, made once per upstream (see `edgeRouteOf`). */
  edge?: EdgeRoute;
}

/**
 * The route as edge hooks see it, shared by its requests: made again only once the route's
 * upstream has been switched, so a request costs no new object.
 */
export function edgeRouteOf(route: CompiledRoute): EdgeRoute {
  const target = route.upstream?.target;
  if (route.edge === undefined || route.edge.target !== target)
    route.edge = Object.freeze({
      id: route.id,
      plane: 'data',
      target,
      auth: route.auth,
      permissions: route.permissions,
    });
  return route.edge;
}

const kindOf = (route: RouteConfig): RouteKind =>
  'target' in route
    ? 'proxy'
    : 'rewrite' in route
      ? 'rewrite'
      : 'redirect' in route
        ? 'redirect'
        : 'static';

/**
 * The routing plugin's routes, compiled once and sorted by specificity: what a request matches
 * (`find`), what the API lists (`routes`), and the one place a proxy route's upstream is
 * switched (`setTarget`), atomically: a request reads `upstream` once and sees one or the other.
 */
export class RouteTable {
  private readonly table: CompiledRoute[];

  constructor(
    routes: readonly RouteConfig[],
    private readonly upstreams: UpstreamRegistry,
    private readonly logger: Logger,
  ) {
    this.table = routes
      .map((route) => {
        const compiled: CompiledRoute = {
          id: route.id ?? route.match,
          kind: kindOf(route),
          matcher: compileMatch(route.match),
          config: route,
        };
        if ('target' in route) {
          compiled.upstream = upstreams.acquire(route.target, route.timeouts.connect);
          // Permissions name who may pass, so anonymous callers never may.
          compiled.auth = route.permissions ? 'required' : route.auth;
          compiled.permissions = route.permissions;
        }
        return compiled;
      })
      .sort((a, b) => bySpecificity(a.matcher, b.matcher));
  }

  routes(): RouteInfo[] {
    return this.table.map((route) => {
      const info: RouteInfo = {
        id: route.id,
        match: route.config.match,
        kind: route.kind,
        target: '',
      };
      const config = route.config;
      if ('target' in config)
        Object.assign(info, {
          target: route.upstream!.target,
          ws: config.ws,
          health: { ...route.upstream!.health },
        });
      else if ('rewrite' in config) info.target = config.rewrite;
      else if ('redirect' in config)
        Object.assign(info, { target: config.redirect, status: config.status });
      else info.target = config.static;
      return info;
    });
  }

  proxyRoutes(): { id: string; config: ProxyRouteConfig; upstream: () => Upstream }[] {
    return this.table
      .filter((route) => route.kind === 'proxy')
      .map((route) => ({
        id: route.id,
        config: route.config as ProxyRouteConfig,
        upstream: () => route.upstream!,
      }));
  }

  setTarget(routeIdOrMatch: string, target: string): void {
    const route =
      this.table.find((entry) => entry.id === routeIdOrMatch) ??
      this.table.find((entry) => entry.config.match === routeIdOrMatch);
    if (!route || route.kind !== 'proxy') {
      throw new HttpError(
        404,
        'ROUTING_ROUTE_NOT_FOUND',
        `No proxy route "${routeIdOrMatch}"; known: ${
          this.proxyRoutes()
            .map((r) => r.id)
            .join(', ') || 'none'
        }.`,
      );
    }
    let url: URL;
    try {
      url = new URL(target);
    } catch (error) {
      throw new HttpError(
        400,
        'ROUTING_INVALID_TARGET',
        `"${target}" is not a URL; expected http(s)://host:port`,
        { cause: error },
      );
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
      throw new HttpError(
        400,
        'ROUTING_INVALID_TARGET',
        `"${target}" must be an http(s) URL without query or fragment`,
      );
    }
    const config = route.config as ProxyRouteConfig;
    const previous = route.upstream!;
    if (previous.target === target) return;
    route.upstream = this.upstreams.acquire(target, config.timeouts.connect);
    this.upstreams.release(previous);
    this.logger.info(
      { route: route.id, from: previous.target, to: target },
      'route target switched',
    );
  }

  /** The first route whose pattern matches the normalised path, most specific first. */
  find(path: string, skipRewrites = false): CompiledRoute | undefined {
    for (let index = 0; index < this.table.length; index++) {
      const route = this.table[index];
      if (skipRewrites && route.kind === 'rewrite') continue;
      if (route.matcher.test(path)) return route;
    }
    return undefined;
  }
}
