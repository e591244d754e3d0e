import type { UIPage, UIView } from '../../core/ui.js';

const dashboardViews = (registered: ReadonlySet<string>): UIView[] => {
  const views: UIView[] = [];
  if (registered.has('health'))
    views.push({ kind: 'health', title: 'Health', endpoint: '/api/health', refreshMs: 5_000 });
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

/**
 * The panel's own pages: Dashboard and Plugins. Every other page comes from the plugin that
 * serves its endpoints (its `panel.ts`, contributed through its `ui`), so it appears exactly when
 * that plugin is registered.
 */
export function builtinPages(registered: ReadonlySet<string>, mountPath: string): UIPage[] {
  return [
    {
      id: 'dashboard',
      title: 'Dashboard',
      route: '/',
      icon: 'dashboard',
      order: 0,
      views: dashboardViews(registered),
    },
    {
      id: 'plugins',
      title: 'Plugins',
      route: '/plugins',
      icon: 'puzzle',
      order: 90,
      views: [
        {
          kind: 'graph',
          title: 'Plugins and their dependencies',
          endpoint: `${mountPath}/api/plugins`,
          nodesPath: 'plugins',
          refreshMs: 10_000,
        },
      ],
    },
  ];
}
