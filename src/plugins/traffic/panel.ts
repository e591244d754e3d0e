import { z } from 'zod';
import {
  formView,
  type UIAction,
  type UICardAction,
  type UIContribution,
  type UIField,
  type UIView,
} from '../../core/ui.js';
import type { TrafficServiceConfig } from './options.js';
import { versionSchema } from './version.js';

const SLOT_FIELDS: UIField[] = [
  { path: 'service', label: 'Service' },
  { path: 'version', label: 'Version' },
  { path: 'target', label: 'Target' },
  { path: 'passing', label: 'Passing checks', format: 'number' },
  { path: 'requiredChecks', label: 'Checks to promote', format: 'number' },
  { path: 'eligible', label: 'Promotable', format: 'boolean' },
  { path: 'stopAt', label: 'Rollback until', format: 'date' },
  { path: 'message', label: 'Message' },
];

/** Buttons on a slot's own card; the API acts on the service's candidate or previous slot. */
function cardActions(basePath: string): UICardAction[] {
  const body = { service: '{service}' };
  return [
    {
      label: 'Promote',
      endpoint: `${basePath}/promote`,
      method: 'POST',
      body,
      when: { key: 'state', in: ['candidate'] },
      confirm:
        "Switch {service}'s traffic to {version} in {id}? The current release stays warm for rollback.",
    },
    {
      label: 'Roll back',
      endpoint: `${basePath}/rollback`,
      method: 'POST',
      body,
      when: { key: 'state', in: ['previous'] },
      destructive: true,
      confirm: "Switch {service}'s traffic back to {version} in {id} now?",
    },
    {
      label: 'Abort',
      endpoint: `${basePath}/abort`,
      method: 'POST',
      body,
      when: { key: 'state', in: ['starting', 'candidate'] },
      destructive: true,
      confirm: 'Stop {version} in {id}? It never received traffic.',
    },
  ];
}

function serviceActions(basePath: string, services: readonly TrafficServiceConfig[]): UIAction[] {
  return services.flatMap((service) => {
    const body = { service: service.name };
    const own = (label: string) => (services.length > 1 ? `${label} ${service.name}` : label);
    if (service.dev) return [];
    return [
      {
        label: own('Promote'),
        endpoint: `${basePath}/promote`,
        method: 'POST',
        body,
        confirm: `Switch ${service.name}'s traffic to its healthy candidate? The current release stays warm for rollback.`,
      },
      {
        label: own('Roll back'),
        endpoint: `${basePath}/rollback`,
        method: 'POST',
        body,
        destructive: true,
        confirm: `Switch ${service.name}'s traffic back to the previous release now?`,
      },
    ];
  });
}

/** Deploy a version beside the active one; the service is asked only when there are several. */
function deployForm(basePath: string, services: readonly TrafficServiceConfig[]): UIView {
  const names = services.map((service) => service.name);
  const version = versionSchema.describe('Started in a free slot; promote it once it is healthy.');
  const schema =
    names.length > 1
      ? z.object({ service: z.enum(names as [string, ...string[]]), version })
      : z.object({ version });
  return formView(schema, `${basePath}/deploy`, {
    title: 'Deploy a version',
    submitLabel: 'Deploy',
    successMessage:
      'Deploying {lastTransition.version} in {lastTransition.slot}; its card turns candidate once healthy.',
  });
}

/** Each service's uploaded releases (`qwickapps release`), and the slot running each. */
function releaseTables(basePath: string, services: readonly TrafficServiceConfig[]): UIView[] {
  return services.map((service) => ({
    kind: 'table' as const,
    title: services.length > 1 ? `Releases of ${service.name}` : 'Uploaded releases',
    endpoint: `${basePath}/releases/${service.name}`,
    rowsPath: 'releases',
    refreshMs: 5_000,
    columns: [
      { key: 'version', label: 'Version' },
      { key: 'state', label: 'Runs as', format: 'status' as const },
      { key: 'slot', label: 'Slot' },
      { key: 'size', label: 'Bytes', format: 'number' as const },
      { key: 'sha256', label: 'SHA-256' },
      { key: 'uploadedAt', label: 'Uploaded', format: 'date' as const },
    ],
  }));
}

/**
 * The Traffic page: each slot a card coloured as a traffic light (the `colour` of the slot view:
 * green active, yellow starting, candidate or previous, red dev or failed, grey stopped), with
 * promote, roll back and abort on the cards they apply to; a deploy form; the transitions; and,
 * when releases are uploaded (the process orchestrator), each service's releases.
 */
export function trafficPanel(
  basePath: string,
  services: readonly TrafficServiceConfig[],
  uploads = false,
): UIContribution {
  const cards = (actions?: UICardAction[]): UIView => ({
    kind: 'cards',
    title: 'Slots',
    endpoint: `${basePath}/slots`,
    itemsPath: 'slots',
    titleKey: 'id',
    colourKey: 'colour',
    badgeKey: 'state',
    fields: SLOT_FIELDS,
    refreshMs: 2_000,
    actions,
  });
  const switches = serviceActions(basePath, services);
  return {
    pages: [
      {
        id: 'traffic',
        title: 'Traffic',
        route: '/traffic',
        icon: 'traffic',
        order: 50,
        views: [
          cards(cardActions(basePath)),
          deployForm(basePath, services),
          ...(switches.length > 0
            ? [{ kind: 'actions' as const, title: 'Switch traffic', actions: switches }]
            : []),
          {
            kind: 'table',
            title: 'History',
            endpoint: `${basePath}/history?limit=200`,
            rowsPath: 'transitions',
            refreshMs: 2_000,
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
          ...(uploads ? releaseTables(basePath, services) : []),
        ],
      },
    ],
    // The dashboard shows the lights only; acting happens on the Traffic page.
    widgets: [{ id: 'traffic-slots', title: 'Traffic', view: cards(), order: 50 }],
  };
}
