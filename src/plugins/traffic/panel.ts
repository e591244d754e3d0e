import type { UIAction, UIContribution, UIView } from '../../core/ui.js';
import type { TrafficServiceConfig } from './options.js';

/**
 * The Traffic page. Slots are a table whose `state` column the panel colours (active green;
 * starting, candidate, previous yellow; failed red) until a card view kind exists.
 */
export function trafficPanel(basePath: string, services: readonly TrafficServiceConfig[]): UIContribution {
  const actions: UIAction[] = services.flatMap((service) => {
    const body = { service: service.name };
    const own = (label: string) => (services.length > 1 ? `${label} ${service.name}` : label);
    if (service.dev) return [];
    return [
      { label: own('Promote'), endpoint: `${basePath}/promote`, method: 'POST', body, confirm: `Switch ${service.name}'s traffic to its healthy candidate? The current release stays warm for rollback.` },
      { label: own('Roll back'), endpoint: `${basePath}/rollback`, method: 'POST', body, destructive: true, confirm: `Switch ${service.name}'s traffic back to the previous release now?` },
      { label: own('Abort deploy'), endpoint: `${basePath}/abort`, method: 'POST', body, destructive: true, confirm: `Stop ${service.name}'s starting or candidate release?` },
    ];
  });
  const slots: UIView = {
    kind: 'table',
    title: 'Slots',
    endpoint: `${basePath}/slots`,
    rowsPath: 'slots',
    refreshMs: 2_000,
    columns: [
      { key: 'service', label: 'Service' },
      { key: 'id', label: 'Slot' },
      { key: 'state', label: 'State', format: 'status' },
      { key: 'version', label: 'Version' },
      { key: 'target', label: 'Target' },
      { key: 'passing', label: 'Passing checks', format: 'number' },
      { key: 'eligible', label: 'Promotable', format: 'boolean' },
      { key: 'stopAt', label: 'Rollback until', format: 'date' },
      { key: 'message', label: 'Message' },
    ],
  };
  return {
    pages: [
      {
        id: 'traffic',
        title: 'Traffic',
        route: '/traffic',
        icon: 'traffic',
        order: 50,
        views: [
          slots,
          { kind: 'actions', title: 'Deployment', actions },
          {
            kind: 'table',
            title: 'History',
            endpoint: `${basePath}/history?limit=200`,
            rowsPath: 'transitions',
            refreshMs: 5_000,
            columns: [
              { key: 'at', label: 'Time', format: 'date' },
              { key: 'service', label: 'Service' },
              { key: 'slot', label: 'Slot' },
              { key: 'version', label: 'Version' },
              { key: 'from', label: 'From', format: 'status' },
              { key: 'to', label: 'To', format: 'status' },
              { key: 'actor', label: 'By' },
              { key: 'reason', label: 'Reason' },
            ],
          },
        ],
      },
    ],
    widgets: [{ id: 'traffic-slots', title: 'Traffic', view: slots, order: 50 }],
  };
}
