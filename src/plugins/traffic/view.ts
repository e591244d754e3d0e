import { promotionBlocker, warmPrevious } from './machine.js';
import type { TrafficServiceConfig } from './options.js';
import type { MachineSettings, ServiceState, Slot, SlotState, Transition } from './state.js';

/** Traffic-light colours: green serves, yellow stands by, red is broken or a dev slot, grey is off. */
export type SlotColour = 'green' | 'yellow' | 'red' | 'grey';

const COLOURS: Record<SlotState, SlotColour> = {
  active: 'green',
  candidate: 'yellow',
  previous: 'yellow',
  starting: 'yellow',
  dev: 'red',
  failed: 'red',
  stopped: 'grey',
};

/** A slot as the API, the CLI and the control panel show it; times are ISO strings. */
export interface SlotView {
  service: string;
  id: string;
  state: SlotState;
  colour: SlotColour;
  version?: string;
  target?: string;
  since: string;
  passing: number;
  requiredChecks: number;
  failing: number;
  /** Candidates: promotion is allowed now. */
  eligible: boolean;
  /** Candidates: the earliest time promotion can be allowed if every check passes. */
  eligibleAt?: string;
  /** Previous: when the rollback window ends. */
  stopAt?: string;
  held?: boolean;
  asleep?: boolean;
  message?: string;
}

export interface TransitionView extends Omit<Transition, 'at'> {
  at: string;
}

export interface ServiceView {
  name: string;
  route: string;
  dev: boolean;
  autoPromote: boolean;
  active?: { slot: string; version?: string; target?: string };
  /** Set while an instant rollback is possible. */
  rollback?: { slot: string; version?: string; until: string };
  slots: SlotView[];
  lastTransition?: TransitionView;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export const transitionView = (transition: Transition): TransitionView => ({
  ...transition,
  at: iso(transition.at)!,
});

function eligibleAt(slot: Slot, now: number, config: TrafficServiceConfig): number | undefined {
  if (slot.state !== 'candidate') return undefined;
  const byChecks = now + Math.max(0, config.promotionChecks - slot.passing) * config.healthInterval;
  const byDelay = (slot.passingSince ?? now) + config.promotionDelay;
  return Math.max(byChecks, byDelay);
}

export function slotView(
  service: string,
  slot: Slot,
  now: number,
  config: TrafficServiceConfig,
  settings: MachineSettings,
): SlotView {
  return {
    service,
    id: slot.id,
    state: slot.state,
    colour: COLOURS[slot.state],
    version: slot.version,
    target: slot.target,
    since: iso(slot.since)!,
    passing: slot.passing,
    requiredChecks: config.promotionChecks,
    failing: slot.failing,
    eligible: slot.state === 'candidate' && promotionBlocker(slot, now, settings) === undefined,
    eligibleAt: iso(eligibleAt(slot, now, config)),
    stopAt: iso(slot.stopAt),
    held: slot.held,
    asleep: slot.asleep,
    message: slot.message,
  };
}

export function serviceView(
  state: ServiceState,
  now: number,
  config: TrafficServiceConfig,
  settings: MachineSettings,
  route: string,
): ServiceView {
  const active = state.slots.find((slot) => slot.state === 'active' || slot.state === 'dev');
  const previous = warmPrevious(state, now);
  const last = state.history.at(-1);
  return {
    name: state.service,
    route,
    dev: config.dev,
    autoPromote: config.autoPromote,
    active: active && { slot: active.id, version: active.version, target: active.target },
    rollback: previous && {
      slot: previous.id,
      version: previous.version,
      until: iso(previous.stopAt)!,
    },
    slots: state.slots.map((slot) => slotView(state.service, slot, now, config, settings)),
    lastTransition: last && transitionView(last),
  };
}
