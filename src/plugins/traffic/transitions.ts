import {
  type MachineSettings,
  type ServiceState,
  type Slot,
  type SlotState,
  type Transition,
} from './state.js';

/**
 * What every handler of the traffic state machine works with: the events, effects and results
 * of `step`, the step's mutable working copy, and the moves (promote, roll back) several events
 * lead to.
 */

export type TrafficEvent =
  | { type: 'deploy'; version: string; actor: string; force?: boolean }
  | { type: 'started'; slot: string; target: string }
  | { type: 'startFailed'; slot: string; error: string }
  | { type: 'check'; slot: string; ok: boolean; message?: string }
  | { type: 'exited'; slot: string; message: string }
  | { type: 'errorRate'; slot: string; message: string }
  | { type: 'promote'; actor: string }
  | { type: 'rollback'; actor: string }
  | { type: 'abort'; actor: string }
  | { type: 'request' }
  | { type: 'tick' }
  /** The gateway restarted with saved state: start the live releases again and route as before. */
  | { type: 'restore' };

export type Effect =
  | { type: 'start'; slot: string; version: string }
  | { type: 'stop'; slot: string }
  | { type: 'route'; slot: string; target: string };

export interface Rejection {
  status: 400 | 404 | 409;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type StepResult =
  | { ok: true; state: ServiceState; transitions: Transition[]; effects: Effect[] }
  | { ok: false; rejection: Rejection };

/** The mutable working copy of one step. */
export class Step {
  readonly transitions: Transition[] = [];
  readonly effects: Effect[] = [];

  constructor(
    readonly state: ServiceState,
    readonly now: number,
    readonly settings: MachineSettings,
  ) {}

  slot(id: string): Slot | undefined {
    return this.state.slots.find((slot) => slot.id === id);
  }

  find(state: SlotState): Slot | undefined {
    return this.state.slots.find((slot) => slot.state === state);
  }

  move(slot: Slot, to: SlotState, actor: string, reason: string): void {
    this.transitions.push({
      at: this.now,
      service: this.state.service,
      slot: slot.id,
      version: slot.version,
      from: slot.state,
      to,
      actor,
      reason,
    });
    slot.state = to;
    slot.since = this.now;
    if (to !== 'previous') slot.stopAt = undefined;
    if (to !== 'starting') slot.startDeadline = undefined;
    if (to !== 'stopped') slot.asleep = undefined;
  }

  /** Moves to stopped or failed and asks the orchestrator to stop the release. */
  retire(slot: Slot, to: 'stopped' | 'failed', actor: string, reason: string): void {
    this.move(slot, to, actor, reason);
    this.effects.push({ type: 'stop', slot: slot.id });
  }

  start(slot: Slot, version: string): void {
    Object.assign(slot, {
      version,
      target: undefined,
      passing: 0,
      passingSince: undefined,
      failing: 0,
      held: undefined,
      message: undefined,
    });
    slot.startDeadline = this.now + this.settings.startTimeout;
    this.effects.push({ type: 'start', slot: slot.id, version });
  }

  route(slot: Slot): void {
    if (slot.target) this.effects.push({ type: 'route', slot: slot.id, target: slot.target });
  }
}

export const reject = (
  status: Rejection['status'],
  code: string,
  message: string,
  details?: Record<string, unknown>,
): StepResult => ({
  ok: false,
  rejection: { status, code, message, details },
});

export const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Why a candidate may not be promoted yet, or undefined when it may. */
export function promotionBlocker(
  slot: Slot,
  now: number,
  settings: MachineSettings,
): string | undefined {
  if (slot.state !== 'candidate') return `${slot.id} is ${slot.state}, not a candidate`;
  const spanned = slot.passingSince === undefined ? 0 : now - slot.passingSince;
  if (slot.passing < settings.promotionChecks || spanned < settings.promotionDelay) {
    return `${slot.id} passed ${Math.min(slot.passing, settings.promotionChecks)}/${settings.promotionChecks} consecutive health checks over ${seconds(spanned)} of the ${seconds(settings.promotionDelay)} required`;
  }
  return undefined;
}

/** The previous slot, when a rollback to it is still possible. */
export function warmPrevious(state: ServiceState, now: number): Slot | undefined {
  return state.slots.find(
    (slot) => slot.state === 'previous' && slot.target !== undefined && (slot.stopAt ?? 0) > now,
  );
}

export function promote(step: Step, candidate: Slot, actor: string, reason: string): void {
  const active = step.find('active');
  const older = step.find('previous');
  step.route(candidate);
  if (older)
    step.retire(
      older,
      'stopped',
      actor,
      `replaced as the rollback target by ${active?.id ?? candidate.id}`,
    );
  if (active) {
    step.move(
      active,
      'previous',
      actor,
      `${candidate.id} (${candidate.version}) promoted; warm for rollback for ${seconds(step.settings.rollbackWindow)}`,
    );
    active.stopAt = step.now + step.settings.rollbackWindow;
  }
  candidate.held = undefined;
  step.move(candidate, 'active', actor, reason);
}

/** Switches back to the warm previous slot; the demoted slot is held as a candidate, or failed. */
export function rollback(
  step: Step,
  previous: Slot,
  actor: string,
  reason: string,
  failedSlot?: Slot,
): void {
  const active = failedSlot ?? step.find('active');
  step.route(previous);
  step.move(previous, 'active', actor, reason);
  if (!active) return;
  if (failedSlot) {
    step.retire(active, 'failed', actor, reason);
  } else {
    active.held = true;
    step.move(
      active,
      'candidate',
      actor,
      `rolled back to ${previous.id} (${previous.version}); kept warm, promoted again only on request`,
    );
  }
}

/** A slot a deploy may use: free first, then a held (rolled back) candidate, then the previous when forced. */
