import type { Logger } from 'pino';
import { HttpError, errorMessage } from '../../core/errors.js';
import { probeHealth, SlotQueue } from './slot-queue.js';
import type { Router } from '../routing/index.js';
import { step, type Effect, type TrafficEvent } from './machine.js';
import { ResponseCounter, type ErrorRateRule } from './metrics.js';
import type { TrafficServiceConfig } from './options.js';
import type { Orchestrator } from './orchestrators/types.js';
import {
  initialServiceState,
  LIVE_STATES,
  reconcileSlots,
  servingSlot,
  type MachineSettings,
  type ServiceState,
  type Transition,
} from './state.js';
import type { TrafficStore } from './store.js';

export interface ControllerOptions {
  config: TrafficServiceConfig;
  settings: MachineSettings;
  orchestrator: Orchestrator;
  router: Router;
  /** The routing plugin's route id (or match) that follows the active slot. */
  route: string;
  logger: Logger;
  now: () => number;
  tickInterval: number;
  restartDelay: number;
  errorRate?: ErrorRateRule;
  onTransition?: (transition: Transition) => void;
}

/**
 * How a gateway that does not drive the orchestrator hands a command to the one that does;
 * resolves once it was carried out and its state taken here (rejects with the refusal).
 */
export type CommandForwarder = (service: string, event: TrafficEvent) => Promise<void>;

/**
 * Drives one service: feeds the pure state machine with commands, health results, process exits
 * and clock ticks (one at a time), and carries out its effects. Route switches happen before
 * anything is persisted or stopped; orchestrator calls for one slot never overlap.
 */
export class ServiceController {
  state: ServiceState;
  readonly responses = new ResponseCounter();
  /** The slot the route points at, for attributing proxied answers. */
  routedSlot?: string;
  private routedTarget?: string;
  private store?: TrafficStore;
  /** Set while another gateway drives the service: commands go to it, nothing starts here. */
  private forwarder?: CommandForwarder;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly slots = new SlotQueue();
  /** Slots (re)started and not yet healthy: their failed checks do not count until the deadline. */
  private readonly booting = new Map<string, number>();
  private readonly checking = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private savedAt = 0;

  constructor(private readonly options: ControllerOptions) {
    this.state = initialServiceState(options.config.name, options.config.slots, options.now());
  }

  get name(): string {
    return this.options.config.name;
  }

  /** Restores saved state (or starts empty), then begins health checks and clock ticks. */
  async open(store: TrafficStore, saved: ServiceState | undefined): Promise<void> {
    this.store = store;
    if (saved) {
      this.state = reconcileSlots(saved, this.options.config.slots, this.options.now());
      await this.dispatch({ type: 'restore' });
      this.options.logger.info(
        { service: this.name, slots: this.state.slots.map((slot) => `${slot.id}:${slot.state}`) },
        'traffic state restored',
      );
    } else if (this.options.config.initialVersion) {
      // A first run: bring the configured release up; later runs restore what was routed.
      await this.dispatch({
        type: 'deploy',
        version: this.options.config.initialVersion,
        actor: 'system',
      });
    }
    this.startTimers();
  }

  private startTimers(): void {
    const { healthInterval } = this.options.config;
    this.timers.push(
      setInterval(() => this.checkAll(), healthInterval),
      setInterval(() => this.tick(), this.options.tickInterval),
    );
    for (const timer of this.timers) timer.unref();
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /**
   * Another gateway drives the service: take its state as it is saved, route as it routes, and
   * forward commands to it. No health checks, ticks or releases run here meanwhile.
   */
  async follow(store: TrafficStore, forwarder: CommandForwarder): Promise<void> {
    this.store = store;
    this.forwarder = forwarder;
    this.stopTimers();
    // A Kubernetes rollout can take minutes: a gateway that stops driving must not hold the
    // lock behind it.
    this.slots.abortAll();
    await this.queue;
    await this.slots.settled();
    this.booting.clear();
  }

  /**
   * This gateway drives the service again after a short loss of the lock, nobody else having
   * driven it meanwhile: its releases never stopped, so it carries on from its own state.
   */
  resume(): void {
    this.forwarder = undefined;
    this.startTimers();
  }

  /** This gateway drives the service from now on, from the state last saved by any gateway. */
  async lead(saved: ServiceState | undefined): Promise<void> {
    this.forwarder = undefined;
    await this.open(this.store!, saved);
  }

  get leading(): boolean {
    return this.forwarder === undefined;
  }

  /** Following: the state another gateway saved; the route follows its serving slot. */
  adopt(state: ServiceState): Promise<void> {
    const run = this.queue.then(() => {
      if (!this.forwarder) return;
      this.state = state;
      const serving = servingSlot(state);
      if (
        serving &&
        (serving.id !== this.routedSlot || serving.target !== this.routedTarget) &&
        this.switchRoute(serving.id, serving.target!)
      ) {
        // How long after the driving gateway made the switch this one made it too.
        const made = state.history.findLast((entry) => entry.slot === serving.id);
        const lag = made ? this.options.now() - made.at : undefined;
        const { id: slot, version } = serving;
        this.options.logger.info(
          { service: this.name, slot, version, lag },
          'route follows the shared state',
        );
      }
      for (const waiter of [...this.waiters]) waiter();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies an event after the ones before it; a refused command becomes an HttpError. An event
   * observed about one start of a slot (`current` says whether that start is still the slot's
   * latest) is dropped if the slot was stopped or started again before its turn came.
   */
  dispatch(event: TrafficEvent, current?: () => boolean): Promise<ServiceState> {
    if (this.forwarder) {
      // Request activity (dev slots) is the driving gateway's to act on; nothing waits for it.
      if (event.type === 'request') void this.forwarder(this.name, event).catch(this.logFailure);
      return Promise.resolve(this.state);
    }
    const run = this.queue.then(() =>
      current === undefined || current() ? this.apply(event) : this.state,
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  command(event: TrafficEvent): Promise<ServiceState> {
    if (this.closed)
      return Promise.reject(new HttpError(503, 'TRAFFIC_STOPPING', 'The gateway is stopping.'));
    if (this.forwarder) return this.forwarder(this.name, event).then(() => this.state);
    return this.dispatch(event);
  }

  /** Resolves once the service has a slot serving requests (dev services waking up). */
  async whenServing(timeout: number): Promise<boolean> {
    const serving = () => servingSlot(this.state) !== undefined;
    if (serving()) return true;
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      const check = () => serving() && done(true);
      const timer = setTimeout(() => done(false), timeout);
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopTimers();
    this.slots.abortAll();
    await this.queue;
    await this.slots.settled();
  }

  private async apply(event: TrafficEvent): Promise<ServiceState> {
    if (this.closed && event.type !== 'restore') return this.state;
    // Queued before this gateway stopped driving the service: the driving gateway decides now.
    if (this.forwarder) return this.state;
    const result = step(this.state, event, this.options.now(), this.options.settings);
    if (!result.ok) {
      const { status, code, message, details } = result.rejection;
      throw new HttpError(status, code, message, { details });
    }
    this.state = result.state;
    for (const transition of result.transitions) {
      this.options.logger.info(
        {
          service: this.name,
          slot: transition.slot,
          version: transition.version,
          from: transition.from,
          to: transition.to,
          actor: transition.actor,
          reason: transition.reason,
        },
        'slot transition',
      );
      this.options.onTransition?.(transition);
    }
    // The switch comes first: nothing is persisted or stopped while the route points the old way.
    for (const effect of result.effects) if (effect.type === 'route') this.route(effect);
    // Shared with other gateways, health counts are saved too (at most once a refresh
    // interval), so their views (and the panel through them) show what this one sees.
    const refresh =
      this.store?.sharedRefresh !== undefined &&
      event.type === 'check' &&
      this.options.now() - this.savedAt >= this.store.sharedRefresh;
    if (
      result.transitions.length > 0 ||
      result.effects.length > 0 ||
      event.type === 'started' ||
      refresh
    )
      await this.persist();
    for (const effect of result.effects) {
      // A release that crashed while active is started again after a pause, not in a tight loop.
      if (effect.type === 'start')
        this.launch(effect.slot, effect.version, event.type === 'exited');
      else if (effect.type === 'stop') this.halt(effect.slot);
    }
    for (const waiter of [...this.waiters]) waiter();
    return this.state;
  }

  private async persist(): Promise<void> {
    this.savedAt = this.options.now();
    try {
      await this.store?.save(this.state);
    } catch (error) {
      // The gateway keeps routing; a restart would restore the last state saved.
      this.options.logger.error(
        { service: this.name, err: error },
        'traffic state could not be saved',
      );
    }
  }

  private switchRoute(slot: string, target: string): boolean {
    try {
      this.options.router.setTarget(this.options.route, target);
      this.routedSlot = slot;
      this.routedTarget = target;
      return true;
    } catch (error) {
      this.options.logger.error(
        { service: this.name, slot, target, err: error },
        'route switch failed',
      );
      return false;
    }
  }

  private route(effect: Extract<Effect, { type: 'route' }>): void {
    if (!this.switchRoute(effect.slot, effect.target)) return;
    const activate = this.options.orchestrator.activate;
    if (activate) {
      this.slots
        .run(effect.slot, () =>
          activate.call(this.options.orchestrator, { service: this.name, slot: effect.slot }),
        )
        .catch((error: unknown) =>
          this.options.logger.error(
            { service: this.name, slot: effect.slot, err: error },
            'orchestrator could not activate the slot',
          ),
        );
    }
  }

  /** Orchestrator calls for one slot run one after another. */
  private launch(slot: string, version: string, delayed: boolean): void {
    this.booting.set(slot, this.options.now() + this.options.config.startTimeout);
    const ref = { service: this.name, slot, version };
    // A start that a later one superseded (the slot was redeployed meanwhile) reports nothing:
    // its target would otherwise be taken for the new release's.
    const launch = this.slots.supersede(slot);
    const current = this.slots.currentOf(slot);
    this.slots
      .run(slot, async () => {
        if (delayed && this.options.restartDelay > 0)
          await new Promise((resolve) => setTimeout(resolve, this.options.restartDelay).unref());
        if (this.closed || this.forwarder || !current()) return;
        try {
          const { target } = await this.options.orchestrator.start(ref, launch.signal);
          void this.dispatch({ type: 'started', slot, target }, current).catch(this.logFailure);
        } catch (error) {
          if (!current()) return;
          this.options.logger.error(
            { service: this.name, slot, version, err: error },
            'release could not be started',
          );
          void this.dispatch(
            { type: 'startFailed', slot, error: errorMessage(error) },
            current,
          ).catch(this.logFailure);
        }
      })
      .catch(this.logFailure);
  }

  private halt(slot: string): void {
    this.slots.supersede(slot);
    this.booting.delete(slot);
    this.responses.clear(slot);
    this.slots
      .run(slot, () => this.options.orchestrator.stop({ service: this.name, slot }))
      .catch((error: unknown) =>
        this.options.logger.error(
          { service: this.name, slot, err: error },
          'release could not be stopped',
        ),
      );
  }

  /** Called by the orchestrator when a release stops on its own. */
  exited(slot: string, message: string): void {
    this.options.logger.warn({ service: this.name, slot, message }, 'release exited');
    void this.dispatch({ type: 'exited', slot, message }).catch(this.logFailure);
  }

  private checkAll(): void {
    for (const slot of this.state.slots) {
      if (!LIVE_STATES.has(slot.state) || !slot.target || this.checking.has(slot.id)) continue;
      this.checking.add(slot.id);
      // A check that ends after the slot was redeployed judged the release it replaced.
      const current = this.slots.currentOf(slot.id);
      const { healthEndpoint, healthTimeout } = this.options.config;
      void probeHealth(slot.target, healthEndpoint, healthTimeout)
        .then((failure) => {
          const deadline = this.booting.get(slot.id);
          if (failure === undefined) this.booting.delete(slot.id);
          else if (deadline !== undefined && this.options.now() < deadline) return undefined;
          else this.booting.delete(slot.id);
          return this.dispatch(
            { type: 'check', slot: slot.id, ok: failure === undefined, message: failure },
            current,
          );
        })
        .catch(this.logFailure)
        .finally(() => this.checking.delete(slot.id));
    }
  }

  private tick(): void {
    void this.dispatch({ type: 'tick' }).catch(this.logFailure);
    const rate = this.options.errorRate;
    const active = this.state.slots.find((slot) => slot.state === 'active');
    if (!rate || !active || !this.options.settings.automaticRollback) return;
    const message = this.responses.breach(active.id, this.options.now(), rate);
    if (message === undefined) return;
    this.responses.clear(active.id);
    void this.dispatch({ type: 'errorRate', slot: active.id, message }).catch(this.logFailure);
  }

  private readonly logFailure = (error: unknown) =>
    this.options.logger.error({ service: this.name, err: error }, 'traffic event failed');
}
