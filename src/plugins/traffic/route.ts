import { ConfigError } from '../../core/errors.js';
import type { RouteInfo } from '../routing/index.js';

/** The first segment of a route's match: `/api/v1/*` -> `api`, `/*` -> ''. */
const firstSegment = (match: string) => match.split('/')[1]?.replace(/\*$/, '') ?? '';

/**
 * Which proxy route of the routing plugin follows a service's active slot:
 * - with `route` set: the proxy route with that id, else the one with that match;
 * - without it: the proxy route whose id is the service name; else the one proxy route whose
 *   match starts with the service name as its first path segment (`api` fits `/api`, `/api/*`,
 *   `/api/v1/*`, not `/apis/*`).
 * No route, or two that fit by match, fails start-up naming the service's `route` option.
 */
export function resolveRoute(
  routes: readonly RouteInfo[],
  service: { name: string; route?: string },
  index: number,
): string {
  const proxies = routes.filter((route) => route.kind === 'proxy');
  const option = `plugins.traffic.services.${index}.route`;
  const known =
    proxies
      .map((route) => (route.id === route.match ? route.match : `${route.id} (${route.match})`))
      .join(', ') || 'none';
  if (service.route !== undefined) {
    const wanted = service.route;
    const route =
      proxies.find((entry) => entry.id === wanted) ??
      proxies.find((entry) => entry.match === wanted);
    if (route) return route.id;
    const other = routes.find((entry) => entry.id === wanted || entry.match === wanted);
    const received = other
      ? `"${wanted}", a ${other.kind} route`
      : `"${wanted}", which is no route (proxy routes: ${known})`;
    throw new ConfigError([
      {
        name: option,
        expected: `the id or match of a proxy route in the routing plugin for service "${service.name}"`,
        received,
      },
    ]);
  }
  const byId = proxies.find((entry) => entry.id === service.name);
  if (byId) return byId.id;
  const fitting = proxies.filter((entry) => firstSegment(entry.match) === service.name);
  if (fitting.length === 1) return fitting[0].id;
  const expected = `one proxy route for service "${service.name}": id "${service.name}", or the only match under /${service.name} (/${service.name}/*, /${service.name}/v1/*); set "route" to its id or match`;
  const received =
    fitting.length === 0
      ? `no route option, and no proxy route fits (proxy routes: ${known})`
      : `no route option, and ${fitting.length} proxy routes fit: ${fitting.map((entry) => entry.match).join(', ')}`;
  throw new ConfigError([{ name: option, expected, received }]);
}
