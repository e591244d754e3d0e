import { createPluginContext, type PluginContext } from '../../core/context.js';
import { HttpError } from '../../core/errors.js';
import type { MiddlewareDefinition, RouteDefinition, ServerPlugin } from '../../core/plugin.js';
import type { RouteConfig } from './config.js';
import { compileMatch } from './path.js';

type StaticRouteConfig = Extract<RouteConfig, { static: string }>;
type StaticFactory = (options: Record<string, unknown>) => ServerPlugin<unknown>;

/** A static plugin mounted under a route's prefix, driven through its own lifecycle hooks. */
export interface MountedStatic {
  plugin: ServerPlugin<unknown>;
  context: PluginContext<unknown>;
  prefix: string;
}

// Resolved at run time, so routing works (and compiles) whether or not the static plugin is built in.
const STATIC_MODULE = '../static/index.js';

async function loadStaticFactory(): Promise<StaticFactory> {
  try {
    const module = (await import(STATIC_MODULE)) as { createStaticPlugin?: StaticFactory };
    if (typeof module.createStaticPlugin === 'function') return module.createStaticPlugin;
  } catch (error) {
    throw new HttpError(500, 'ROUTING_STATIC_UNAVAILABLE', 'Static routes need the static plugin, which could not be loaded.', { cause: error });
  }
  throw new HttpError(500, 'ROUTING_STATIC_UNAVAILABLE', 'Static routes need createStaticPlugin from the static plugin.');
}

/**
 * Delegates `{ match, static, spa }` routes to the static plugin: one instance per route, its
 * options validated by its own schema, initialised with a context of its own.
 */
export async function mountStaticRoutes(routes: readonly RouteConfig[], parent: PluginContext<unknown>): Promise<MountedStatic[]> {
  const statics = routes.filter((route): route is StaticRouteConfig => 'static' in route);
  if (statics.length === 0) return [];
  const createStaticPlugin = await loadStaticFactory();
  const mounted: MountedStatic[] = [];
  for (const route of statics) {
    const plugin = createStaticPlugin({ ...route.options, root: route.static, spa: route.spa });
    let config: unknown = undefined;
    if (plugin.config) {
      const parsed = plugin.config.schema.safeParse(plugin.config.options);
      if (!parsed.success) {
        throw new HttpError(500, 'ROUTING_STATIC_INVALID', `Static route ${route.match}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      config = parsed.data;
    }
    const context = createPluginContext(parent.app, `${parent.name}:${route.id ?? route.match}`, config);
    await plugin.onInit?.(context);
    mounted.push({ plugin, context, prefix: compileMatch(route.match).prefix });
  }
  return mounted;
}

/** The static plugins' middleware, mounted under each route's prefix (Express strips it). */
export function staticMiddleware(mounted: readonly MountedStatic[]): MiddlewareDefinition[] {
  return mounted.flatMap(({ plugin, context, prefix }) => {
    const list = typeof plugin.middleware === 'function' ? plugin.middleware(context) : (plugin.middleware ?? []);
    return list.map((entry) => ({ ...entry, path: `${prefix}${entry.path ?? ''}` || undefined }));
  });
}

export function staticRoutes(mounted: readonly MountedStatic[]): RouteDefinition[] {
  return mounted.flatMap(({ plugin, context }) => (typeof plugin.routes === 'function' ? plugin.routes(context) : (plugin.routes ?? [])));
}
