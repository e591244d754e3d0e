import type { UIPage, UIView } from '../../core/ui.js';

/**
 * The pages the panel ships, as data like any plugin's. Each appears only when the plugin that
 * serves its endpoints is registered; Dashboard and Plugins are always there.
 */

const dashboardViews = (registered: ReadonlySet<string>): UIView[] => {
  const views: UIView[] = [];
  if (registered.has('health')) views.push({ kind: 'health', title: 'Health', endpoint: '/api/health', refreshMs: 5_000 });
  if (registered.has('diagnostics')) {
    views.push({
      kind: 'keyValue',
      title: 'Process',
      endpoint: '/api/diagnostics',
      refreshMs: 5_000,
      fields: [
        { path: 'uptime.appSeconds', label: 'Uptime', format: 'seconds' },
        { path: 'memory.rss', label: 'Memory (RSS)', format: 'bytes' },
        { path: 'memory.heapUsed', label: 'Heap used', format: 'bytes' },
        { path: 'eventLoop.delay.p99', label: 'Event-loop delay p99', format: 'duration' },
        { path: 'eventLoop.utilization', label: 'Event-loop utilisation', format: 'percent' },
        { path: 'cpu.percent', label: 'CPU (one core)', format: 'number' },
        { path: 'versions.node', label: 'Node.js' },
      ],
    });
  }
  return views;
};

/** A built-in page and the plugin whose endpoints it shows; that plugin's own page with the same id replaces it. */
export type BuiltinPage = UIPage & { provider: string };

export function builtinPages(registered: ReadonlySet<string>, mountPath: string): BuiltinPage[] {
  const pages: BuiltinPage[] = [{ provider: 'control-panel', id: 'dashboard', title: 'Dashboard', route: '/', icon: 'dashboard', order: 0, views: dashboardViews(registered) }];
  // Diagnostics, Config and Health pages come from those plugins themselves (their `ui`).
  if (registered.has('logs')) {
    pages.push({ provider: 'logs', id: 'logs', title: 'Logs', route: '/logs', icon: 'list', order: 30, views: [{ kind: 'logStream', endpoint: '/api/logs', streamEndpoint: '/api/logs/stream' }] });
  }
  if (registered.has('cache')) {
    pages.push({
      provider: 'cache',
      id: 'cache',
      title: 'Cache',
      route: '/cache',
      icon: 'zap',
      order: 40,
      views: [
        { kind: 'keyValue', title: 'Statistics', endpoint: '/api/cache/stats', refreshMs: 5_000 },
        {
          kind: 'actions',
          title: 'Maintenance',
          actions: [{ label: 'Flush cache', endpoint: '/api/cache/flush', method: 'POST', destructive: true, confirm: 'Remove every entry from the cache?' }],
        },
      ],
    });
  }
  if (registered.has('database')) {
    pages.push({
      provider: 'database',
      id: 'database',
      title: 'Database',
      route: '/database',
      icon: 'database',
      order: 50,
      views: [
        {
          kind: 'keyValue',
          title: 'Connection',
          endpoint: '/api/database',
          refreshMs: 5_000,
          fields: [
            { path: 'provider', label: 'Provider' },
            { path: 'dialect', label: 'Dialect' },
            { path: 'pool.total', label: 'Connections', format: 'number' },
            { path: 'pool.idle', label: 'Idle', format: 'number' },
            { path: 'pool.waiting', label: 'Waiting', format: 'number' },
          ],
        },
        {
          kind: 'table',
          title: 'Applied migrations',
          endpoint: '/api/database',
          rowsPath: 'migrations',
          columns: [
            { key: 'name', label: 'Migration' },
            { key: 'plugin', label: 'Plugin' },
            { key: 'appliedAt', label: 'Applied', format: 'date' },
          ],
        },
      ],
    });
  }
  const serviceViews: UIView[] = [];
  if (registered.has('routing')) {
    serviceViews.push({
      kind: 'table',
      title: 'Routes and upstreams',
      endpoint: '/api/routing/routes',
      rowsPath: 'routes',
      refreshMs: 5_000,
      columns: [
        { key: 'id', label: 'Route' },
        { key: 'match', label: 'Match' },
        { key: 'kind', label: 'Kind' },
        { key: 'target', label: 'Target' },
        { key: 'health.status', label: 'Upstream', format: 'status' },
        { key: 'health.latencyMs', label: 'Latency', format: 'duration' },
        { key: 'health.checkedAt', label: 'Checked', format: 'date' },
      ],
    });
  }
  if (registered.has('services')) {
    serviceViews.push({
      kind: 'table',
      title: 'Local processes',
      endpoint: '/api/services',
      rowsPath: 'services',
      refreshMs: 5_000,
      columns: [
        { key: 'name', label: 'Service' },
        { key: 'state', label: 'State', format: 'status' },
        { key: 'pid', label: 'PID' },
        { key: 'restarts', label: 'Restarts', format: 'number' },
        { key: 'startedAt', label: 'Started', format: 'date' },
      ],
    });
  }
  if (serviceViews.length > 0) {
    pages.push({ provider: registered.has('routing') ? 'routing' : 'services', id: 'services', title: 'Services', route: '/services', icon: 'server', order: 60, views: serviceViews });
  }
  pages.push({
    provider: 'control-panel',
    id: 'plugins',
    title: 'Plugins',
    route: '/plugins',
    icon: 'puzzle',
    order: 90,
    views: [{ kind: 'graph', title: 'Plugins and their dependencies', endpoint: `${mountPath}/api/plugins`, nodesPath: 'plugins', refreshMs: 10_000 }],
  });
  return pages;
}
