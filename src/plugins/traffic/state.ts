/**
 * The data of the traffic state machine: slots, transitions and the settings its rules read.
 * Plain JSON so it can be persisted and restored as it is; times are absolute epoch milliseconds.
 */

/** `starting` (launched, not yet healthy), `candidate` (yellow), `active` (green), `previous` (yellow, rollback window), `stopped`, `failed`, `dev` (red). */
export type SlotState =
  'starting' | 'candidate' | 'active' | 'previous' | 'stopped' | 'failed' | 'dev';

export interface Slot {
  id: string;
  state: SlotState;
  version?: string;
  /** Where the release answers (`http://127.0.0.1:3102`); known once the orchestrator started it. */
  target?: string;
  /** When the slot entered its state. */
  since: number;
  /** Consecutive passing health checks, and when that run began. */
  passing: number;
  passingSince?: number;
  /** Consecutive failing health checks. */
  failing: number;
  /** `previous`: when the rollback window closes and the slot is stopped. */
  stopAt?: number;
  /** `starting`: when the release must have passed its first check, or it fails. */
  startDeadline?: number;
  /** A candidate that was rolled back: never promoted automatically again. */
  held?: boolean;
  /** A dev slot stopped for being idle: the next request starts it again. */
  asleep?: boolean;
  /** Dev slots: the last request routed to the service. */
  lastRequestAt?: number;
  /** Last health or process message worth showing. */
  message?: string;
}

/** One recorded change of a slot's state. */
export interface Transition {
  at: number;
  service: string;
  slot: string;
  version?: string;
  from: SlotState;
  to: SlotState;
  /** `system` for automatic transitions, otherwise the user who asked. */
  actor: string;
  reason: string;
}

export interface ServiceState {
  service: string;
  slots: Slot[];
  /** Oldest first, bounded by `historyLimit`. */
  history: Transition[];
}

/** What the rules need to know about a service's configuration. */
export interface MachineSettings {
  /** Consecutive passing checks a candidate needs before promotion. */
  promotionChecks: number;
  /** The passing run must span at least this many milliseconds. */
  promotionDelay: number;
  /** Promote an eligible candidate without being asked. */
  autoPromote: boolean;
  /** How long the previous active stays warm for an instant rollback. */
  rollbackWindow: number;
  /** Roll back by itself when the new active fails inside the window. */
  automaticRollback: boolean;
  /** Consecutive failing checks that fail a candidate or trigger an automatic rollback. */
  failureThreshold: number;
  /** A starting release that has not passed a check by then has failed. */
  startTimeout: number;
  /** Dev (red) service: releases are routed as soon as healthy and stop when idle. */
  dev: boolean;
  /** Dev slots stop after this long without requests. */
  idleTimeout: number;
  historyLimit: number;
}

export const SYSTEM_ACTOR = 'system';

/** A fresh service: every slot stopped, nothing routed. */
export function initialServiceState(
  service: string,
  slotIds: readonly string[],
  now: number,
): ServiceState {
  return { service, slots: slotIds.map((id) => emptySlot(id, now)), history: [] };
}

export function emptySlot(id: string, now: number): Slot {
  return { id, state: 'stopped', since: now, passing: 0, failing: 0 };
}

/**
 * Restored state against the configured slot ids: configured slots missing from the file are
 * added, and slots no longer configured are dropped unless they still hold a release.
 */
export function reconcileSlots(
  state: ServiceState,
  slotIds: readonly string[],
  now: number,
): ServiceState {
  const byId = new Map(state.slots.map((slot) => [slot.id, slot]));
  const slots = slotIds.map((id) => byId.get(id) ?? emptySlot(id, now));
  for (const slot of state.slots) {
    if (!slotIds.includes(slot.id) && slot.state !== 'stopped' && slot.state !== 'failed')
      slots.push(slot);
  }
  return { ...state, slots };
}

/** The slot requests go to: the active release, or a dev slot's, once it has a target. */
export const servingSlot = (state: ServiceState) =>
  state.slots.find(
    (slot) => (slot.state === 'active' || slot.state === 'dev') && slot.target !== undefined,
  );

/** Slot states with a release that runs or is about to: checked for health, kept on disk. */
export const LIVE_STATES: ReadonlySet<string> = new Set([
  'starting',
  'candidate',
  'active',
  'previous',
  'dev',
]);
