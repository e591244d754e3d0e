import { SYSTEM_ACTOR, type MachineSettings, type ServiceState, type Slot } from './state.js';

/**
 * The traffic state machine: `step(state, event, now, settings)` is pure. It returns the next
 * state, the transitions to record and the effects the controller carries out (start or stop a
 * release, switch the route), or a rejection explaining which guard refused the event.
 */

import {
  Step,
  promote,
  promotionBlocker,
  reject,
  rollback,
  seconds,
  warmPrevious,
  type Effect,
  type Rejection,
  type StepResult,
  type TrafficEvent,
} from './transitions.js';

export type { Effect, Rejection, StepResult, TrafficEvent };
export { promotionBlocker, warmPrevious };

function slotForDeploy(step: Step, force: boolean): Slot | StepResult {
  const free = step.state.slots.find((slot) => slot.state === 'stopped' || slot.state === 'failed');
  if (free) return free;
  const held = step.state.slots.find((slot) => slot.state === 'candidate' && slot.held);
  if (held) return held;
  const previous = step.find('previous');
  if (previous && force) return previous;
  if (previous) {
    return reject(
      409,
      'TRAFFIC_NO_FREE_SLOT',
      `Every slot is in use; ${previous.id} (${previous.version}) holds the rollback target until ${new Date(previous.stopAt ?? step.now).toISOString()}. Deploy after the window, or force it to give up the rollback.`,
      { slot: previous.id },
    );
  }
  return reject(409, 'TRAFFIC_NO_FREE_SLOT', 'Every slot is in use.');
}

function onDeploy(
  step: Step,
  event: Extract<TrafficEvent, { type: 'deploy' }>,
): StepResult | undefined {
  const busy = step.state.slots.find(
    (slot) => slot.state === 'starting' || (slot.state === 'candidate' && !slot.held),
  );
  if (busy) {
    const next =
      busy.state === 'starting' ? 'wait until it is healthy or abort it' : 'promote or abort it';
    return reject(
      409,
      'TRAFFIC_DEPLOY_IN_PROGRESS',
      `${busy.id} (${busy.version}) is ${busy.state}; ${next} before deploying again.`,
      { slot: busy.id },
    );
  }
  const chosen = slotForDeploy(step, event.force === true);
  if ('ok' in chosen) return chosen;
  if (chosen.state === 'candidate' || chosen.state === 'previous') {
    const what =
      chosen.state === 'previous' ? 'rollback target given up' : 'rolled back release replaced';
    step.retire(chosen, 'stopped', event.actor, `${what} for the deploy of ${event.version}`);
  }
  step.start(chosen, event.version);
  step.move(chosen, 'starting', event.actor, `deploy ${event.version}`);
  return undefined;
}

function onCheck(step: Step, slot: Slot, ok: boolean, message: string | undefined): void {
  if (ok) {
    slot.passing += 1;
    slot.passingSince ??= step.now;
    slot.failing = 0;
    slot.message = undefined;
    if (slot.state === 'starting') {
      if (step.settings.dev) {
        // Route first, so nothing is sent to a slot being stopped.
        step.route(slot);
        step.move(
          slot,
          'dev',
          SYSTEM_ACTOR,
          'passed its first health check; dev slots take traffic at once',
        );
        // The requests that waited for it are served now: the idle clock starts here.
        slot.lastRequestAt = step.now;
        for (const other of step.state.slots) {
          if (other === slot) continue;
          other.asleep = undefined;
          if (other.state === 'dev')
            step.retire(other, 'stopped', SYSTEM_ACTOR, `replaced by ${slot.id} (${slot.version})`);
        }
      } else if (step.find('active')) {
        step.move(slot, 'candidate', SYSTEM_ACTOR, 'passed its first health check');
      }
      // No active release: nothing to compare against, so no candidate stage; `settle` makes
      // it active once it passed its checks, and until then it stays starting (and unrouted).
    }
    return;
  }
  slot.passing = 0;
  slot.passingSince = undefined;
  slot.failing += 1;
  slot.message = message;
  // A booting release refuses connections; only its start deadline counts against it.
  if (slot.state === 'starting' || slot.failing < step.settings.failureThreshold) return;
  const reason = `failed ${slot.failing} consecutive health checks${message ? `: ${message}` : ''}`;
  if (slot.state === 'candidate' || slot.state === 'previous' || slot.state === 'dev')
    step.retire(slot, 'failed', SYSTEM_ACTOR, reason);
  else if (slot.state === 'active') automaticRollback(step, slot, `active ${reason}`);
}

function automaticRollback(step: Step, active: Slot, reason: string): boolean {
  const previous = warmPrevious(step.state, step.now);
  if (!step.settings.automaticRollback || !previous) return false;
  rollback(step, previous, SYSTEM_ACTOR, `automatic rollback: ${reason}`, active);
  return true;
}

function onExited(step: Step, slot: Slot, message: string): void {
  if (
    slot.state === 'starting' ||
    slot.state === 'candidate' ||
    slot.state === 'previous' ||
    slot.state === 'dev'
  ) {
    slot.target = undefined;
    step.retire(slot, 'failed', SYSTEM_ACTOR, `process exited: ${message}`);
  } else if (
    slot.state === 'active' &&
    !automaticRollback(step, slot, `active process exited: ${message}`)
  ) {
    // Nothing warm to go back to: bring the same release up again in place.
    slot.message = `process exited: ${message}; restarting`;
    Object.assign(slot, { passing: 0, passingSince: undefined, failing: 0 });
    step.effects.push({ type: 'start', slot: slot.id, version: slot.version! });
    step.transitions.push({
      at: step.now,
      service: step.state.service,
      slot: slot.id,
      version: slot.version,
      from: 'active',
      to: 'active',
      actor: SYSTEM_ACTOR,
      reason: slot.message,
    });
  }
}

function onTick(step: Step): void {
  for (const slot of step.state.slots) {
    if (slot.state === 'previous' && (slot.stopAt ?? 0) <= step.now) {
      step.retire(
        slot,
        'stopped',
        SYSTEM_ACTOR,
        `rollback window of ${seconds(step.settings.rollbackWindow)} ended`,
      );
    } else if (slot.state === 'starting' && (slot.startDeadline ?? Infinity) <= step.now) {
      step.retire(
        slot,
        'failed',
        SYSTEM_ACTOR,
        `not healthy within ${seconds(step.settings.startTimeout)}${slot.message ? `: ${slot.message}` : ''}`,
      );
    } else if (
      slot.state === 'dev' &&
      (slot.lastRequestAt ?? slot.since) + step.settings.idleTimeout <= step.now
    ) {
      step.retire(
        slot,
        'stopped',
        SYSTEM_ACTOR,
        `idle for ${seconds(step.settings.idleTimeout)}; starts again on the next request`,
      );
      slot.asleep = true;
    }
  }
}

function onRequest(step: Step): void {
  if (!step.settings.dev) return;
  const running = step.state.slots.find(
    (slot) => slot.state === 'dev' || slot.state === 'starting',
  );
  if (running) {
    running.lastRequestAt = step.now;
    return;
  }
  const asleep = step.state.slots.find(
    (slot) => slot.state === 'stopped' && slot.asleep && slot.version,
  );
  if (!asleep) return;
  step.start(asleep, asleep.version!);
  asleep.lastRequestAt = step.now;
  step.move(asleep, 'starting', SYSTEM_ACTOR, 'a request arrived while asleep');
}

function onRestore(step: Step): void {
  for (const slot of step.state.slots) {
    Object.assign(slot, { passing: 0, passingSince: undefined, failing: 0 });
    if (slot.state === 'stopped' || slot.state === 'failed') continue;
    if (slot.state === 'previous' && (slot.stopAt ?? 0) <= step.now) {
      step.retire(
        slot,
        'stopped',
        SYSTEM_ACTOR,
        'rollback window ended while the gateway was down',
      );
      continue;
    }
    if (slot.state === 'active' || slot.state === 'dev') step.route(slot);
    if (slot.state === 'starting') slot.startDeadline = step.now + step.settings.startTimeout;
    // The saved target stays: the orchestrator brings the release back where it was.
    step.effects.push({ type: 'start', slot: slot.id, version: slot.version! });
  }
}

/**
 * Promotes on its own. The first release of a service (no active slot) has nothing to compare
 * against: it becomes active as soon as it passed `promotionChecks` consecutive checks, without
 * waiting out `promotionDelay`, which is there to compare a new release with a serving one.
 * With an active slot, an eligible candidate is promoted only under autoPromote.
 */
function settle(step: Step): void {
  if (step.settings.dev) return;
  if (!step.find('active')) {
    // A candidate without an active slot only comes from state saved by an older gateway.
    const first = step.state.slots.find(
      (slot) =>
        (slot.state === 'starting' || slot.state === 'candidate') &&
        slot.passing >= step.settings.promotionChecks,
    );
    if (first) {
      const reason = `first release, nothing to compare against: active after ${first.passing} consecutive passing health checks (no promotion delay)`;
      promote(step, first, SYSTEM_ACTOR, reason);
    }
    return;
  }
  const candidate = step.state.slots.find(
    (slot) =>
      slot.state === 'candidate' && promotionBlocker(slot, step.now, step.settings) === undefined,
  );
  if (!candidate || !step.settings.autoPromote || candidate.held) return;
  const reason = `passed ${candidate.passing} consecutive health checks over ${seconds(step.now - candidate.passingSince!)}`;
  promote(step, candidate, SYSTEM_ACTOR, `automatic promotion: ${reason}`);
}

function onCommand(
  step: Step,
  event: Extract<TrafficEvent, { type: 'promote' | 'rollback' | 'abort' }>,
): StepResult | undefined {
  if (event.type === 'promote') {
    if (step.settings.dev)
      return reject(
        400,
        'TRAFFIC_DEV_SERVICE',
        `${step.state.service} is a dev service: its releases take traffic as soon as they are healthy.`,
      );
    const candidate = step.find('candidate');
    if (!candidate) {
      const starting = step.find('starting');
      if (starting && !step.find('active')) {
        const { promotionChecks } = step.settings;
        return reject(
          409,
          'TRAFFIC_FIRST_RELEASE',
          `${starting.id} (${starting.version}) is the first release: it becomes active by itself once it passed ${promotionChecks} consecutive health checks (${Math.min(starting.passing, promotionChecks)} so far).`,
          { slot: starting.id, passing: starting.passing },
        );
      }
      return starting
        ? reject(
            409,
            'TRAFFIC_NOT_HEALTHY',
            `${starting.id} (${starting.version}) has not passed a health check yet.`,
            { slot: starting.id },
          )
        : reject(
            409,
            'TRAFFIC_NO_CANDIDATE',
            `${step.state.service} has no candidate to promote; deploy a version first.`,
          );
    }
    const blocker = promotionBlocker(candidate, step.now, step.settings);
    if (blocker)
      return reject(409, 'TRAFFIC_NOT_HEALTHY', `Not promoted: ${blocker}.`, {
        slot: candidate.id,
        passing: candidate.passing,
      });
    promote(step, candidate, event.actor, 'promoted on request');
    return undefined;
  }
  if (event.type === 'rollback') {
    const previous = warmPrevious(step.state, step.now);
    if (!previous)
      return reject(
        409,
        'TRAFFIC_NO_PREVIOUS',
        `${step.state.service} has no previous release inside its rollback window.`,
      );
    rollback(step, previous, event.actor, 'rolled back on request');
    return undefined;
  }
  const pending = step.find('starting') ?? step.find('candidate');
  if (!pending)
    return reject(
      409,
      'TRAFFIC_NOTHING_TO_ABORT',
      `${step.state.service} has no starting or candidate release to abort.`,
    );
  step.retire(pending, 'stopped', event.actor, 'aborted on request');
  return undefined;
}

/** Applies one event. Never mutates `state`. */
export function step(
  state: ServiceState,
  event: TrafficEvent,
  now: number,
  settings: MachineSettings,
): StepResult {
  const work = new Step(structuredClone(state), now, settings);
  let rejected: StepResult | undefined;
  switch (event.type) {
    case 'deploy':
      rejected = onDeploy(work, event);
      break;
    case 'promote':
    case 'rollback':
    case 'abort':
      rejected = onCommand(work, event);
      break;
    case 'request':
      onRequest(work);
      break;
    case 'tick':
      onTick(work);
      break;
    case 'restore':
      onRestore(work);
      break;
    default:
      rejected = onSlotEvent(work, event);
  }
  if (rejected) return rejected;
  settle(work);
  const history = [...work.state.history, ...work.transitions];
  work.state.history = history.slice(Math.max(0, history.length - settings.historyLimit));
  return { ok: true, state: work.state, transitions: work.transitions, effects: work.effects };
}

/** Events the orchestrator and health checks report about one slot; stale ones are ignored. */
function onSlotEvent(
  step: Step,
  event: Extract<TrafficEvent, { slot: string }>,
): StepResult | undefined {
  const slot = step.slot(event.slot);
  if (!slot)
    return reject(
      404,
      'TRAFFIC_SLOT_NOT_FOUND',
      `No slot "${event.slot}" in ${step.state.service}.`,
    );
  const live = slot.state !== 'stopped' && slot.state !== 'failed';
  if (!live) return undefined;
  switch (event.type) {
    case 'started':
      if (slot.target !== event.target) {
        slot.target = event.target;
        if (slot.state === 'active' || slot.state === 'dev') step.route(slot);
      }
      return undefined;
    case 'startFailed':
      step.retire(slot, 'failed', SYSTEM_ACTOR, `could not start: ${event.error}`);
      return undefined;
    case 'check':
      onCheck(step, slot, event.ok, event.message);
      return undefined;
    case 'exited':
      onExited(step, slot, event.message);
      return undefined;
    case 'errorRate':
      if (slot.state === 'active') automaticRollback(step, slot, event.message);
      return undefined;
  }
}
