import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { problemBody, sendProblem, writeRawProblem } from '../../core/problem.js';
import { redactUrl } from '../../core/redact-url.js';
import { RoutePaths } from '../../core/route-paths.js';
import {
  NO_HEADERS,
  type EdgeExchange,
  type EdgeNext,
  type EdgePipeline,
} from '../../core/edge.js';
import type { ProxyRouteConfig, RoutingConfig } from './options.js';
import { CorsPolicy } from './cors.js';
import type { ClientAddresses } from '../../core/client-address.js';
import {
  logWhenDone,
  requestIdOf,
  requestLoggers,
  type RequestLoggers,
} from '../../core/request-log.js';
import type { RequestLogExtras } from './log.js';
import { joinPath, normaliseTarget, type PathMatcher } from '../../core/path.js';
import { forward, type ProxySettings } from './proxy.js';
import type { UpstreamRegistry } from './upstream.js';
import { RouteTable, edgeRouteOf, type CompiledRoute, type RouteInfo } from './route-table.js';

export type { RouteInfo, RouteKind } from './route-table.js';
import { forwardUpgrade, refusedOrigin } from './websocket.js';

/**
 * The routing service (`ctx.get('routing')`), used by the traffic plugin to switch targets.
 * @example router.setTarget('api', 'http://127.0.0.1:3102') // new requests only; in-flight ones finish
 */
export interface Router {
  routes(): RouteInfo[];
  /** Points a proxy route (by id or match) at a new upstream, atomically. */
  setTarget(routeIdOrMatch: string, target: string): void;
}

/** A request the router answers, on its way: what `proceed` needs once the hooks let it through. */
interface ProxyExchange extends EdgeExchange {
  readonly compiled: CompiledRoute | undefined;
  /** The path sent upstream (the rest after the prefix when the route strips it). */
  readonly forwardedPath: string;
  readonly query: string;
  readonly log: RequestLogExtras | undefined;
}

/** Substitutes the matched rest into `/new/*`; a target without `/*` is used as it is. */
function substitute(to: string, matcher: PathMatcher, path: string): string {
  return to.endsWith('/*') ? joinPath(to.slice(0, -2) || '/', matcher.rest(path)) : to;
}

export class GatewayRouter implements Router {
  private readonly table: RouteTable;
  private readonly cors?: CorsPolicy;
  private privateCookies: readonly string[] = [];
  private settings?: ProxySettings;
  private readonly tunnels = new Set<Duplex>();
  private readonly requestLog: RequestLoggers;
  /** After the hooks, a proxied request goes upstream: one continuation, not two closures a request. */
  private readonly toUpstream: EdgeNext<ProxyExchange> = {
    proceed: (exchange) => this.proceed(exchange),
    fail: (exchange, error) => this.failed(exchange, error),
  };
  /** Paths of the app's own routes (`/api/routing/routes`, ...), which proxy routes never shadow. */
  private ownPaths?: RoutePaths;

  constructor(
    private readonly config: RoutingConfig,
    private readonly upstreams: UpstreamRegistry,
    private readonly logger: Logger,
    /** The app's one trustProxy: who the client is, whether it came over TLS. */
    private readonly trusted: ClientAddresses,
    /** The app's edge pipeline: rate limits, guards and headers are hooks the router never names. */
    private readonly edge: EdgePipeline,
  ) {
    this.table = new RouteTable(config.routes, upstreams, logger);
    this.requestLog = requestLoggers(logger, trusted.of);
    this.cors = config.cors ? new CorsPolicy(config.cors) : undefined;
  }

  routes(): RouteInfo[] {
    return this.table.routes();
  }

  proxyRoutes(): ReturnType<RouteTable['proxyRoutes']> {
    return this.table.proxyRoutes();
  }

  setTarget(routeIdOrMatch: string, target: string): void {
    this.table.setTarget(routeIdOrMatch, target);
  }

  /**
   * Cookies of the gateway's own (the admin guard's session, the cookies reserved on the edge:
   * the auth plugin's session) are stripped from proxied requests.
   */
  usePrivateCookies(names: readonly string[]): void {
    this.privateCookies = [...new Set(names)];
  }

  /**
   * Routes that ask for a signed-in caller (`auth`, `permissions`) while no hook authenticates
   * anyone: they would pass every request unauthenticated, so start-up fails naming each one.
   */
  unguardedRoutes(): { index: number; id: string }[] {
    if (this.edge.has('proxy', 'authenticate')) return [];
    return this.config.routes.flatMap((route, index) =>
      'target' in route && (route.auth !== undefined || route.permissions !== undefined)
        ? [{ index, id: route.id ?? route.match }]
        : [],
    );
  }

  /**
   * Called once the app's routes are mounted: proxy routes never shadow them. Catch-alls (a
   * frontend's `/{*rest}`, the panel's pages) are left out: those are what a proxy route may pass.
   */
  protectOwnPaths(paths: readonly string[]): void {
    const own = new RoutePaths();
    for (const path of paths) if (!path.includes('*')) own.add(path);
    this.ownPaths = own;
  }

  /** The raw handler: answers proxied routes, redirects and preflights before Express. */
  handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const target = normaliseTarget(url);
    if ('error' in target) {
      if (url.charCodeAt(0) !== 47) return false; // `*` or absolute-form: Express answers
      this.answer(
        this.exchange(req, res, url, undefined),
        400,
        'ROUTING_INVALID_PATH',
        `The request path is ambiguous: ${target.error}.`,
      );
      return true;
    }
    let { path } = target;
    if (path.length + target.query.length !== url.length) req.url = path + target.query;
    let route = this.table.find(path);
    if (route?.kind === 'redirect') {
      const config = route.config as { redirect: string; status: number };
      const location = substitute(config.redirect, route.matcher, path) + target.query;
      this.edge.run(this.exchange(req, res, path, route), {
        proceed: (exchange) => this.answer(exchange, config.status, '', '', ['location', location]),
        fail: (exchange, error) => this.failed(exchange, error),
      });
      return true;
    }
    if (route?.kind === 'rewrite') {
      path = substitute((route.config as { rewrite: string }).rewrite, route.matcher, path);
      req.url = path + target.query;
      route = this.table.find(path, true);
    }
    if (this.cors && CorsPolicy.isPreflight(req)) {
      this.edge.run(this.exchange(req, res, path, route), {
        proceed: (exchange) => this.answer(exchange, 204, '', '', this.cors!.preflightHeaders(req)),
        fail: (exchange, error) => this.failed(exchange, error),
      });
      return true;
    }
    if (route?.kind !== 'proxy' || this.ownPaths?.has(path)) {
      if (this.cors) {
        const headers = this.cors.responseHeaders(req);
        for (let index = 0; index < headers.length; index += 2)
          res.setHeader(headers[index], headers[index + 1]);
      }
      return false;
    }
    // Ambiguous framing and duplicate Host headers were refused by the core server already.
    const config = route.config as ProxyRouteConfig;
    const log: RequestLogExtras = { route: route.id };
    const exchange = this.exchange(
      req,
      res,
      path,
      route,
      log,
      false,
      config.stripPrefix ? route.matcher.rest(path) : path,
      target.query,
    );
    if (this.edge.has('proxy')) this.edge.run(exchange, this.toUpstream);
    else this.proceed(exchange);
    return true;
  };

  /**
   * The request id and the one request line (the core's own identify step), then what every
   * hook sees: the path normalised once and the route matched once.
   */
  private exchange(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    route: CompiledRoute | undefined,
    log?: RequestLogExtras,
    upgrade = false,
    forwardedPath = path,
    query = '',
  ): ProxyExchange {
    const requestId = requestIdOf(req);
    if (!upgrade) logWhenDone(this.requestLog, req, res, requestId, req.url ?? '/', log);
    // A hook that answers (a 429) answers with the id the request line carries, as `req.id`.
    (req as IncomingMessage & { id?: string }).id = requestId;
    return {
      req,
      res,
      lane: 'proxy',
      upgrade,
      path,
      route: route && edgeRouteOf(route),
      requestId,
      defaultHeaders: NO_HEADERS,
      defaultDataHeaders: NO_HEADERS,
      headers: [],
      upstreamHeaders: [],
      compiled: route,
      forwardedPath,
      query,
      log,
    };
  }

  /** A hook that threw: the request ends with a 500 problem, the error in the log. */
  private failed(exchange: EdgeExchange, error: unknown): void {
    this.logger.error(
      { err: error, requestId: exchange.requestId, url: redactUrl(exchange.req.url ?? '/') },
      'edge hook failed',
    );
    if (exchange.res.headersSent) exchange.res.destroy();
    else
      this.answer(
        exchange,
        500,
        'ROUTING_EDGE_FAILED',
        'The gateway could not process the request.',
      );
  }

  /** Then the upstream; the route's upstream is read once, so a switch never splits a request. */
  private proceed(exchange: ProxyExchange): void {
    const { req, forwardedPath: path, query } = exchange;
    const route = exchange.compiled!;
    const log = exchange.log!;
    const upstream = route.upstream!;
    log.upstream = upstream.target;
    forward(
      exchange as ProxyExchange & { log: RequestLogExtras },
      {
        route: route.config as ProxyRouteConfig,
        upstream,
        path: joinPath(upstream.basePath, path) + query,
        extraHeaders: this.cors
          ? [...this.cors.responseHeaders(req), ...exchange.headers]
          : exchange.headers,
      },
      this.proxySettings(),
    );
  }

  /** The settings every proxied request shares, made again only once one of them changes. */
  private proxySettings(): ProxySettings {
    const headersPreset = this.edge.has('proxy');
    const settings = this.settings;
    if (
      settings?.privateCookies === this.privateCookies &&
      settings.headersPreset === headersPreset
    )
      return settings;
    this.settings = {
      trusted: this.trusted,
      privateCookies: this.privateCookies,
      reservedHeaders: this.edge.reservedRequestHeaders,
      headersPreset,
    };
    return this.settings;
  }

  /**
   * Closes every proxied WebSocket. The server's drain never ends while an upgraded socket is
   * open (it is no longer an HTTP connection the server can close), so a stopping app calls this.
   */
  closeTunnels(): void {
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
  }

  /** The upgrade handler: proxies WebSocket upgrades on routes with `ws: true`. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const target = normaliseTarget(req.url ?? '/');
    if ('error' in target) {
      // The grammar that refuses a request's path refuses an upgrade's the same way.
      writeRawProblem(
        socket,
        400,
        'ROUTING_INVALID_PATH',
        `The request path is ambiguous: ${target.error}.`,
        requestIdOf(req),
        req.url,
      );
      return true;
    }
    const route = this.table.find(target.path, true);
    if (route?.kind !== 'proxy' || !(route.config as ProxyRouteConfig).ws) return false;
    const config = route.config as ProxyRouteConfig;
    if (refusedOrigin(req, socket, this.cors)) return true;
    const forwardedPath = config.stripPrefix ? route.matcher.rest(target.path) : target.path;
    const proceed = (requestId: string, upstreamHeaders: readonly string[] = []) => {
      // Read at the last moment, as for requests: a switch while a hook waited is honoured.
      const upstream = route.upstream!;
      const path = joinPath(upstream.basePath, forwardedPath) + target.query;
      forwardUpgrade({
        req,
        socket,
        head,
        requestId,
        route: config,
        upstream,
        path,
        trusted: this.trusted,
        privateCookies: this.privateCookies,
        reservedHeaders: this.edge.reservedRequestHeaders,
        upstreamHeaders,
        logger: this.logger,
        tunnels: this.tunnels,
      });
    };
    if (!this.edge.has('proxy')) {
      proceed(requestIdOf(req));
      return true;
    }
    // An upgrade goes through the same hooks as a request (limits, guards): a hook answers with an
    // ordinary response on the socket (429 problem+json), and the socket is handed back to the
    // tunnel when the upgrade may go on.
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    socket.on('error', () => socket.destroy());
    this.edge.run(this.exchange(req, res, target.path, route, undefined, true), {
      proceed: (exchange) => {
        res.removeAllListeners('finish');
        res.detachSocket(socket as Socket);
        if (!socket.destroyed) proceed(exchange.requestId, exchange.upstreamHeaders);
      },
      fail: (exchange, error) => this.failed(exchange, error),
    });
    return true;
  };

  /** A complete answer from the gateway itself (its request line is already on its way). */
  private answer(
    exchange: EdgeExchange,
    status: number,
    code: string,
    detail: string,
    headers: string[] = [],
  ): void {
    const { req, res, requestId } = exchange;
    // A problem+json or an empty answer: data, not a document.
    const defaults = exchange.defaultDataHeaders;
    const extra: Record<string, string> = { 'x-request-id': requestId };
    for (let index = 0; index < defaults.length; index += 2)
      extra[defaults[index]] = defaults[index + 1];
    for (let index = 0; index < exchange.headers.length; index += 2)
      extra[exchange.headers[index]] = exchange.headers[index + 1];
    for (let index = 0; index < headers.length; index += 2)
      extra[headers[index]] = headers[index + 1];
    if (status >= 400) {
      sendProblem(
        res,
        problemBody(status, code, detail, { instance: redactUrl(req.url ?? '/'), requestId }),
        extra,
      );
      return;
    }
    res.writeHead(status, { ...extra, 'content-length': '0' });
    res.end();
  }
}
