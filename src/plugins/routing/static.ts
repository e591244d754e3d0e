import type { ServerPlugin } from '../../core/plugin.js';
import { createStaticPlugin } from '../static/index.js';
import { staticRoute } from './options.js';
import { compileMatch } from '../../core/path.js';

/**
 * The static plugins that serve `{ match, static, spa, options }` routes, one per route, named
 * `static:<prefix>` and mounted there. The routing plugin brings them as companions, so the app
 * validates their options (a ConfigError names `plugins.static:/docs.<option>`), runs their
 * lifecycle and lists them like any plugin. Their catch-all falls through (next) for anything
 * they do not own, so later routes still answer.
 *
 * Read from the raw options, because companions must exist before the app validates anything:
 * a route the routing schema refuses brings no plugin, and the routing plugin's own issues name it.
 */
export function staticRoutePlugins(routes: unknown): ServerPlugin<unknown>[] {
  if (!Array.isArray(routes)) return [];
  return routes.flatMap((raw: unknown) => {
    const parsed = staticRoute.safeParse(raw);
    if (!parsed.success) return [];
    const route = parsed.data;
    const mountPath = compileMatch(route.match).prefix || '/';
    return [
      createStaticPlugin({
        ...route.options,
        root: route.static,
        spa: route.spa,
        mountPath,
        name: `static:${mountPath}`,
      }) as ServerPlugin<unknown>,
    ];
  });
}
