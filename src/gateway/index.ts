import { createApp, type App, type AppOptions } from '../core/app.js';
import type { ServerPlugin } from '../core/plugin.js';
import { createConfigPlugin, type ConfigOptions } from '../plugins/config/index.js';
import {
  createControlPanelPlugin,
  type ControlPanelOptions,
} from '../plugins/control-panel/index.js';
import { createDiagnosticsPlugin, type DiagnosticsOptions } from '../plugins/diagnostics/index.js';
import { createHealthPlugin, type HealthPluginOptions } from '../plugins/health/index.js';
import { createLogsPlugin, type LogsOptions } from '../plugins/logs/index.js';
import { createRateLimitPlugin, type RateLimitPluginOptions } from '../plugins/rate-limit/index.js';
import { createRoutingPlugin, type Router, type RoutingOptions } from '../plugins/routing/index.js';
import { createSecurityPlugin, type SecurityPluginOptions } from '../plugins/security/index.js';
import { createServicesPlugin, type LocalServiceOptions } from '../plugins/services/index.js';
import {
  createStaticPlugin,
  type StaticController,
  type StaticPluginOptions,
} from '../plugins/static/index.js';

/** The gateway's default limit per client address: generous for people, a wall for floods. */
export const DEFAULT_RATE_LIMIT = { windowMs: 60_000, limit: 6_000 };

export interface GatewayOptions extends Omit<AppOptions, 'plugins'> {
  /** Proxy, rewrite and redirect routes, and CORS (the routing plugin). */
  routing?: RoutingOptions;
  /** The frontend served at `/` with SPA fallback; `false` for none. */
  frontend?: StaticPluginOptions | false;
  /** Local service processes the gateway starts and supervises. */
  services?: LocalServiceOptions[];
  /**
   * Rate limits; `false` for none. Default: every client address may make `DEFAULT_RATE_LIMIT`
   * requests a minute (memory store, or Redis when `REDIS_URL` is set, shared by gateway instances).
   */
  rateLimit?: RateLimitPluginOptions | false;
  security?: SecurityPluginOptions | false;
  /** The control panel at `/cpanel`; `false` for none. */
  controlPanel?: ControlPanelOptions | false;
  health?: HealthPluginOptions;
  diagnostics?: DiagnosticsOptions;
  config?: ConfigOptions;
  logs?: LogsOptions;
  /** Further plugins (the traffic plugin, a product's own). */
  plugins?: ServerPlugin<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Gateway extends App {
  /** The routing service (after `start()`): `setTarget(route, url)` switches an upstream atomically. */
  readonly routing: Router;
  /**
   * The frontend's releases (after `start()`), when a frontend is served; without `frontend`, those
   * of the first static route (the `static` service; see `StaticPluginOptions.name`).
   */
  readonly frontend: StaticController | undefined;
}

/**
 * The GREEN gateway: an app preset with health, diagnostics, config, logs, security headers,
 * rate limiting, routing (proxying before Express), the frontend, the control panel and, when
 * given, supervised local services. It reaches services only over HTTP.
 * @example
 * const gateway = createGateway({
 *   name: 'gateway', port: 3101,
 *   routing: { routes: [{ id: 'api', match: '/api/v1/*', target: 'http://127.0.0.1:3100' }] },
 *   frontend: { root: './dist-ui/app', spa: true },
 * });
 * await gateway.start();
 */
export function createGateway(options: GatewayOptions): Gateway {
  const {
    routing,
    frontend,
    services,
    rateLimit,
    security,
    controlPanel,
    health,
    diagnostics,
    config,
    logs,
    plugins = [],
    ...appOptions
  } = options;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const list: ServerPlugin<any>[] = [
    createHealthPlugin(health),
    createDiagnosticsPlugin(diagnostics),
    createConfigPlugin(config),
    createLogsPlugin(logs),
    createRoutingPlugin(routing),
  ];
  if (security !== false) list.push(createSecurityPlugin(security));
  if (rateLimit !== false)
    list.push(createRateLimitPlugin(rateLimit ?? { default: DEFAULT_RATE_LIMIT }));
  if (controlPanel !== false) list.push(createControlPanelPlugin(controlPanel));
  if (frontend) list.push(createStaticPlugin(frontend));
  if (services && services.length > 0) list.push(createServicesPlugin({ services }));
  const app = createApp({ ...appOptions, plugins: [...list, ...plugins] });
  // Getters, not values: the services exist only once start() has run the plugins' onInit.
  return Object.defineProperties(app, {
    routing: { get: () => app.context.services.get('routing'), enumerable: true },
    frontend: { get: () => app.context.services.tryGet('static'), enumerable: true },
  }) as Gateway;
}
