import { ConfigError } from '../../core/errors.js';
import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { routingOptionsSchema, type RoutingConfig, type RoutingOptions } from './options.js';
import type { GatewayRouter, Router } from './router.js';
import { staticRoutePlugins } from './static.js';
import type { UpstreamRegistry } from './upstream.js';
import { routingPanel } from './panel.js';

export type {
  CorsConfig,
  HeaderEdits,
  ProxyRouteConfig,
  RouteConfig,
  RoutingConfig,
  RoutingOptions,
} from './options.js';
export type { RouteInfo, RouteKind, Router } from './router.js';
export type { UpstreamHealth } from './upstream.js';
export { ROUTING_ERRORS } from './errors.js';

declare module '../../core/services.js' {
  interface Services {
    routing: Router;
  }
}

/**
 * The gateway's router: proxy routes answered before Express over keep-alive undici pools,
 * rewrites, redirects, static routes (each a static plugin the app registers beside this one,
 * named `static:<prefix>`), WebSocket upgrades and CORS. Provides the `routing` service, whose
 * `setTarget` switches a route's upstream atomically.
 * @example
 * createRoutingPlugin({
 *   routes: [
 *     { id: 'api', match: '/api/v1/*', target: 'http://127.0.0.1:3100', ws: true },
 *     { match: '/old-path', redirect: '/new-path', status: 301 },
 *   ],
 *   cors: { origin: ['https://app.example.com'], credentials: true },
 * })
 */
export function createRoutingPlugin(options: RoutingOptions = {}): ServerPlugin<RoutingConfig> {
  let router: GatewayRouter | undefined;
  let upstreams: UpstreamRegistry | undefined;
  return {
    name: 'routing',
    version: CORE_VERSION,
    ui: routingPanel,
    // After the plugins that answer before Express (health probes), so a `/*` route never hides them.
    order: PLUGIN_ORDER.routing,
    config: { schema: routingOptionsSchema, options },
    plugins: staticRoutePlugins(options.routes),
    async onInit(ctx) {
      const [{ Pool }, { GatewayRouter }, { UpstreamRegistry }] = await Promise.all([
        import('undici'),
        import('./router.js'),
        import('./upstream.js'),
      ]);
      const config = ctx.config;
      upstreams = new UpstreamRegistry(
        (origin, { connectTimeout }) =>
          new Pool(origin, {
            connections: config.connectionsPerUpstream,
            keepAliveTimeout: config.keepAliveTimeout,
            connect: { timeout: connectTimeout },
          }),
        config.drainTimeout,
        ctx.logger,
      );
      // Request lines go to the app logger so they look exactly like the kernel's.
      router = new GatewayRouter(config, upstreams, ctx.app.logger, ctx.app.clients, ctx.app.edge);
      for (const route of router.proxyRoutes()) {
        const health = route.config.health;
        if (health === false) continue;
        ctx.addHealthCheck({
          name: `routing:${route.id}`,
          critical: health.critical,
          interval: health.interval,
          timeout: health.timeout,
          run: async () => {
            const upstream = route.upstream();
            const result = await upstream.check(health.path, health.timeout);
            return {
              status: result.status === 'healthy' ? 'healthy' : 'unhealthy',
              message: result.message,
              details: { target: upstream.target, statusCode: result.statusCode },
            };
          },
        });
      }
      ctx.provide('routing', router);
      ctx.app.addRawHandler(router.handleRequest);
      ctx.app.addUpgradeHandler(router.handleUpgrade);
      const activeRouter = router;
      ctx.events.on('app:shutdown', () => activeRouter.closeTunnels());
    },
    routes: () => [
      {
        method: 'get',
        path: '/api/routing/routes',
        access: 'admin',
        permission: 'routing:read',
        description: 'Routes with their match, kind, current target and upstream health',
        handler: (_req, res) => void res.json({ routes: router!.routes() }),
      },
    ],
    async onReady(ctx) {
      router!.protectOwnPaths(ctx.app.routes().map((route) => route.path));
      const unguarded = router!.unguardedRoutes();
      if (unguarded.length > 0) {
        throw new ConfigError(
          unguarded.map(({ index, id }) => ({
            name: `plugins.routing.routes.${index}.auth`,
            received: `route "${id}" asks for a signed-in caller`,
            expected:
              'an app with an authenticate hook: register createAuthPlugin(...), or remove auth and permissions from the route',
          })),
        );
      }
      router!.usePrivateCookies([
        ...(ctx.app.adminGuard()?.privateCookies ?? []),
        ...ctx.app.edge.reservedCookies,
      ]);
    },
    async onShutdown() {
      await upstreams?.closeAll();
    },
  };
}
