import { createPluginContext, type PluginContext } from '../../core/context.js';
import { HttpError } from '../../core/errors.js';
import type { MiddlewareDefinition, RouteDefinition, ServerPlugin } from '../../core/plugin.js';
import type { RouteConfig } from './config.js';
import { compileMatch } from '../../core/path.js';

type StaticRouteConfig = Extract<RouteConfig, { static: string }>;

/** A static plugin mounted at a route's prefix, driven through its own lifecycle hooks. */
export interface MountedStatic {
  plugin: ServerPlugin<unknown>;
  context: PluginContext<unknown>;
}

/**
 * Delegates a `{ match, static, spa }` route to the static plugin, mounted at the route's prefix:
 * its options validated by its own schema, initialised with a context of its own. Its catch-all
 * is mounted with the routing plugin's routes; it falls through (next) for anything it does not
 * own, so later routes still answer.
 */
export async function mountStaticRoutes(routes: readonly RouteConfig[], parent: PluginContext<unknown>): Promise<MountedStatic[]> {
  const statics = routes.filter((route): route is StaticRouteConfig => 'static' in route);
  if (statics.length === 0) return [];
  // Loaded only when a static route exists, so a gateway without one never pays for it.
  const { createStaticPlugin } = await import('../static/index.js');
  const mounted: MountedStatic[] = [];
  for (const route of statics) {
    const prefix = compileMatch(route.match).prefix;
    const plugin = createStaticPlugin({ ...route.options, root: route.static, spa: route.spa, mountPath: prefix || '/' }) as ServerPlugin<unknown>;
    let config: unknown = undefined;
    if (plugin.config) {
      const parsed = plugin.config.schema.safeParse(plugin.config.options);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('; ');
        throw new HttpError(500, 'ROUTING_STATIC_INVALID', `Static route ${route.match} has invalid options: ${problems}`);
      }
      config = parsed.data;
    }
    // Named like the plugin it stands for, so its logs and the service it provides read as usual.
    const context = createPluginContext(parent.app, plugin.name, config);
    await plugin.onInit?.(context);
    mounted.push({ plugin, context });
  }
  return mounted;
}

export function staticMiddleware(mounted: readonly MountedStatic[]): MiddlewareDefinition[] {
  return mounted.flatMap(({ plugin, context }) => (typeof plugin.middleware === 'function' ? plugin.middleware(context) : (plugin.middleware ?? [])));
}

export function staticRoutes(mounted: readonly MountedStatic[]): RouteDefinition[] {
  return mounted.flatMap(({ plugin, context }) => (typeof plugin.routes === 'function' ? plugin.routes(context) : (plugin.routes ?? [])));
}
