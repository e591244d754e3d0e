import type { Logger } from 'pino';
import { HttpError, errorMessage } from '../../core/errors.js';
import type { Database } from '../database/index.js';
import type { ServiceController } from './controller.js';
import type { TrafficEvent } from './machine.js';
import type { RenewableOrchestrator } from './renewable-orchestrator.js';
import type { CommandResult, ForwardedRequest, SharedStore, SlotQuestion } from './shared-store.js';

export type ReplicaRole = 'leader' | 'follower';

export interface ClusterOptions {
  store: SharedStore;
  database: Database;
  controllers: ReadonlyMap<string, ServiceController>;
  orchestrator: RenewableOrchestrator;
  logger: Logger;
  /** How often a follower tries to take the lock (and the holder checks its connection). */
  lockInterval: number;
  /** How long a forwarded command may wait for a driving gateway before it is refused. */
  commandTimeout: number;
  /** How long local releases outlive a lost lock (see the `replicas.handoverDelay` option). */
  handoverDelay: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a forwarded command's result is looked for when its notification went missing. */
const RESULT_POLL = 500;

const INTERRUPTED: CommandResult = {
  ok: false,
  error: {
    status: 503,
    code: 'TRAFFIC_COMMAND_INTERRUPTED',
    message:
      'The gateway carrying out the command stopped before it answered; look at the status to see whether it took effect, and retry if not.',
  },
};

/**
 * Several gateways on one PostgreSQL database, one of them driving the orchestrator.
 *
 * The driver (the leader) holds an advisory lock on a connection of its own; it runs the health
 * checks, the clock and every start, stop and promotion, and is the only gateway that saves the
 * state. The others (followers) listen on the store's channel and take each saved state as it is
 * committed, switching their route to the slot it serves; they start nothing of their own.
 * Commands received by a follower are queued in the database for the leader, which carries them
 * out and writes the answer back: the follower needs neither the leader's address nor its
 * credentials, the rules run on one copy of the state, and a refusal reads the same through any
 * gateway. When the leader dies its session ends, the lock is free, and the first follower to
 * take it reloads the state and restores it (releases started again, a deploy in progress goes
 * on waiting for health), then runs the commands queued meanwhile. A leader that merely lost its
 * lock session (a database restart) stops driving at once but keeps its releases for the
 * handover delay: taking the lock back first, it carries on without restarting them.
 */
export class TrafficCluster {
  role: ReplicaRole = 'follower';
  private readonly waiting = new Map<string, () => void>();
  private readonly refreshing = new Map<string, Promise<void>>();
  private stopListening?: () => Promise<void>;
  private releaseLock?: () => Promise<void>;
  /** Role changes run one after another: a takeover finishes before a step-down starts. */
  private changing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Lock lost, local releases still running: the revisions this gateway last saved, and the timer that stops them. */
  private suspended?: { revisions: Map<string, number>; timer: NodeJS.Timeout };
  /** When the last driver said it let go of the lock (a clean stop): no port can still be held. */
  private releasedAt = 0;

  constructor(private readonly options: ClusterOptions) {
    options.store.onConflict = (error) => {
      options.logger.warn({ err: error }, 'traffic state written by another gateway');
      this.change(() => this.recompete());
    };
  }

  /** Follows the saved state, then competes for the lock; resolves once the first attempt is made. */
  async start(): Promise<void> {
    const { store, controllers } = this.options;
    this.stopListening = await store.listen({
      onNotify: (payload) => this.notified(payload),
      onReconnect: () => void this.caughtUp(),
    });
    const saved = await store.load();
    for (const controller of controllers.values()) {
      await controller.follow(store, this.forward);
      const state = saved.get(controller.name);
      if (state) await controller.adopt(state);
    }
    await this.compete();
    await this.changing;
  }

  private async compete(): Promise<void> {
    const { store, database, lockInterval } = this.options;
    this.releaseLock = await database.holdLock!(
      store.lockName,
      {
        onAcquired: () => this.change(() => this.lead()),
        onLost: () => this.change(() => this.suspend()),
      },
      lockInterval,
    );
  }

  /**
   * Stops driving and gives the lock up, then competes again: after a save refused because
   * another gateway wrote (this one's lock session died unnoticed), or a takeover that failed
   * half-way. Holding the lock without driving would leave the services with no driver.
   */
  private async recompete(): Promise<void> {
    await this.stepDown();
    await this.releaseLock?.();
    this.releaseLock = undefined;
    if (!this.stopped) await this.compete();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.waiting.values()) wake();
    await this.changing;
    const held = this.role === 'leader' || this.suspended !== undefined;
    clearTimeout(this.suspended?.timer);
    this.suspended = undefined;
    // The releases stopped with the gateway: whoever takes over need not wait for their ports.
    if (held) await this.options.store.announce('released').catch(() => undefined);
    await this.stopListening?.();
    await this.releaseLock?.();
  }

  private change(operation: () => Promise<void>): void {
    this.changing = this.changing
      .then(() => (this.stopped ? undefined : operation()))
      .catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'traffic role change failed'),
      );
  }

  private async lead(): Promise<void> {
    if (this.role === 'leader') return;
    const { store, controllers, logger, orchestrator } = this.options;
    try {
      const saved = await store.load();
      const suspended = this.suspended;
      if (suspended) {
        clearTimeout(suspended.timer);
        this.suspended = undefined;
        const untouched = [...controllers.keys()].every(
          (name) => store.revision(name) === (suspended.revisions.get(name) ?? 0),
        );
        if (untouched) {
          // Nobody drove meanwhile and the releases never stopped: carry on where it was.
          for (const controller of controllers.values()) controller.resume();
          this.role = 'leader';
          logger.info('this gateway drives the orchestrator again, its releases untouched');
          await this.runPending();
          return;
        }
        await orchestrator.renew();
      } else if (
        orchestrator.type === 'process' &&
        Date.now() - this.releasedAt > 10_000 &&
        (await store.listeners()) > 1
      ) {
        // Another gateway is up and may be the last driver, its local releases on their ports
        // until its handover delay ends; it says `released` once they are stopped. A driver
        // that died or stopped cleanly holds no port: no wait then.
        const { handoverDelay, lockInterval } = this.options;
        await this.releasedSince(Date.now(), 2 * handoverDelay + 2 * lockInterval);
      }
      await store.interrupt(INTERRUPTED);
      for (const controller of controllers.values())
        await controller.lead(saved.get(controller.name));
    } catch (error) {
      logger.error({ err: error }, 'taking over the orchestrator failed; competing again');
      // Some services may lead already: stepping down undoes them all.
      this.role = 'leader';
      await this.recompete();
      return;
    }
    this.role = 'leader';
    logger.info({ services: [...controllers.keys()] }, 'this gateway drives the orchestrator now');
    await this.runPending();
  }

  /** Resolves once a driver said `released` after `since`, or after `timeout` ms. */
  private async releasedSince(since: number, timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    while (this.releasedAt < since && Date.now() < deadline && !this.stopped) await sleep(50);
  }

  /**
   * The lock is lost (its connection died): stop driving at once, since another gateway may
   * take over, but leave the local releases running for `handoverDelay`, in case this gateway
   * takes the lock back first (a database restart) and can carry on without restarting them.
   */
  private async suspend(): Promise<void> {
    if (this.role === 'follower') return;
    const { store, controllers, logger, handoverDelay } = this.options;
    this.role = 'follower';
    const revisions = new Map([...controllers.keys()].map((name) => [name, store.revision(name)]));
    for (const controller of controllers.values()) await controller.follow(store, this.forward);
    logger.warn(
      { handoverDelay },
      'this gateway lost the lock that drives the orchestrator; its releases keep running for the handover delay',
    );
    const timer = setTimeout(
      () =>
        this.change(async () => {
          if (this.suspended?.timer !== timer) return;
          this.suspended = undefined;
          await this.options.orchestrator.renew();
          logger.warn(
            'handover delay over: local releases stopped for the gateway that drives now',
          );
          // Their ports are free: a gateway waiting to take them over may go on.
          await store.announce('released').catch(() => undefined);
          await this.caughtUp();
        }),
      handoverDelay,
    );
    timer.unref();
    this.suspended = { revisions, timer };
  }

  private async stepDown(): Promise<void> {
    if (this.role === 'follower') return;
    const { store, controllers, orchestrator, logger } = this.options;
    this.role = 'follower';
    for (const controller of controllers.values()) await controller.follow(store, this.forward);
    // Local releases stop so the gateway that drives now can start them where they were.
    await orchestrator.renew();
    logger.warn('this gateway no longer drives the orchestrator; following the shared state');
    await this.caughtUp();
  }

  private notified(payload: string): void {
    const [kind, first, second] = payload.split(' ');
    if (kind === 'state' && this.role === 'follower') {
      const controller = this.options.controllers.get(first);
      if (controller && Number(second) > this.options.store.revision(first))
        void this.refresh(first);
    } else if (kind === 'command' && this.role === 'leader') {
      void this.run(first);
    } else if (kind === 'done') {
      this.waiting.get(first)?.();
    } else if (kind === 'released') {
      this.releasedAt = Date.now();
    }
  }

  /** After a lost LISTEN connection: what was announced meanwhile was missed. */
  private async caughtUp(): Promise<void> {
    if (this.role === 'leader') {
      await this.runPending();
      return;
    }
    for (const name of this.options.controllers.keys()) await this.refresh(name);
    for (const wake of this.waiting.values()) wake();
  }

  /**
   * Takes the service's newest saved state. One read at a time per service: two reads on two
   * pooled connections could answer out of order, and an older state must never replace a newer.
   */
  private refresh(service: string): Promise<void> {
    const next = (this.refreshing.get(service) ?? Promise.resolve()).then(async () => {
      try {
        const state = await this.options.store.loadNewer(service);
        if (state) await this.options.controllers.get(service)?.adopt(state);
      } catch (error) {
        this.options.logger.error(
          { service, error: errorMessage(error) },
          'shared traffic state could not be read',
        );
      }
    });
    this.refreshing.set(service, next);
    return next;
  }

  private async runPending(): Promise<void> {
    try {
      for (const id of await this.options.store.pending()) await this.run(id);
    } catch (error) {
      this.options.logger.error({ error: errorMessage(error) }, 'queued commands not read');
    }
  }

  /** The leader carries out a command another gateway queued. */
  private async run(id: string): Promise<void> {
    const { store, controllers, logger } = this.options;
    try {
      const claimed = await store.claim(id);
      if (!claimed) return;
      let result: CommandResult = { ok: true };
      try {
        const controller = controllers.get(claimed.service);
        if (!controller)
          throw new HttpError(404, 'TRAFFIC_SERVICE_NOT_FOUND', `No service "${claimed.service}".`);
        const { event } = claimed;
        const ref = { service: claimed.service, slot: 'slot' in event ? event.slot : '' };
        if (event.type === 'runtime')
          result = { ok: true, data: await this.options.orchestrator.status(ref) };
        else if (event.type === 'logs')
          result = { ok: true, data: await this.options.orchestrator.logs(ref, event.limit) };
        else await controller.command(event);
      } catch (error) {
        const refusal =
          error instanceof HttpError
            ? error
            : new HttpError(500, 'TRAFFIC_COMMAND_FAILED', errorMessage(error));
        const { status, code, message, details } = refusal;
        result = { ok: false, error: { status, code, message, details } };
      }
      await store.finish(id, result, claimed.awaited);
    } catch (error) {
      logger.error({ command: id, error: errorMessage(error) }, 'forwarded command failed');
    }
  }

  /** A follower's commands: queued for the leader, answered with what the leader answered. */
  private readonly forward = async (service: string, event: TrafficEvent): Promise<void> => {
    await this.send(service, event);
    await this.refresh(service);
  };

  /**
   * What the orchestrator says of a slot: asked here when this gateway drives it, else of the
   * gateway that does (a follower's orchestrator runs nothing).
   */
  async ask(service: string, question: SlotQuestion): Promise<unknown> {
    if (this.role === 'leader') {
      const ref = { service, slot: question.slot };
      const { orchestrator } = this.options;
      return question.type === 'runtime'
        ? orchestrator.status(ref)
        : orchestrator.logs(ref, question.limit);
    }
    return this.send(service, question);
  }

  private async send(service: string, request: ForwardedRequest): Promise<unknown> {
    const { store, commandTimeout } = this.options;
    const awaited = request.type !== 'request';
    const id = await store.enqueue(service, request, awaited);
    if (!awaited) return undefined;
    const result = await this.resultOf(id, commandTimeout);
    if (!result.ok) {
      const { status, code, message, details } = result.error;
      throw new HttpError(status, code, message, { details });
    }
    return result.data;
  }

  private async resultOf(id: string, timeout: number): Promise<CommandResult> {
    const { store } = this.options;
    let deadline = Date.now() + timeout;
    let taken = false;
    for (;;) {
      const result = await store.collect(id);
      if (result) return result;
      if (this.stopped) throw new HttpError(503, 'TRAFFIC_STOPPING', 'The gateway is stopping.');
      if (Date.now() >= deadline) {
        // Taken by a leader: it answers, or the next one answers for it; wait once more.
        if (!taken && !(await store.withdraw(id))) {
          taken = true;
          deadline = Date.now() + timeout;
          continue;
        }
        if (taken) await store.withdraw(id);
        throw new HttpError(
          503,
          'TRAFFIC_NO_LEADER',
          `No gateway carried out the command within ${timeout} ms: none holds the lock that drives the orchestrator. Try again shortly.`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(RESULT_POLL, deadline - Date.now()));
        this.waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiting.delete(id);
    }
  }
}
