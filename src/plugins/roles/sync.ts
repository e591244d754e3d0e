import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.js';
import type { Database } from '../database/index.js';
import type { RoleStore, StoredRoles } from './store.js';

/** An acknowledgement on the channel: `ack <instance> <revision>`. */
const ACK = /^ack ([0-9a-f]+) (\d+)$/;

/**
 * Keeps this instance's model at the stored revision.
 *
 * PostgreSQL: every change sends NOTIFY with its revision at commit. An instance that is behind
 * reloads at once, and requests arriving meanwhile wait for the reload (`pending`, awaited by
 * the plugin's edge hook); once it has the revision it answers `ack <instance> <revision>` on
 * the same channel. The instance that made the change waits, before answering it, for an ack
 * from every instance listening on the channel (bounded by `propagationTimeout`), so a request
 * sent to any of them after the answer decides with the change: decisions stay map lookups, and
 * the wait is paid by the change instead.
 *
 * PGlite: one process owns the database, so the instance that changed it is the only one.
 * MySQL and SQLite: the revision is read every `refreshInterval` ms. A failed reload keeps the
 * model it has (decisions go on) and is logged; the next notification or poll tries again.
 */
export class RolesSync {
  /** A reload under way; requests wait for it so that none decides with a model it outdated. */
  pending: Promise<void> | undefined;
  private again = false;
  private stopListening: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly instance = randomBytes(6).toString('hex');
  /** PostgreSQL only: the newest revision each instance acknowledged, and changes waiting. */
  private confirming = false;
  private readonly acks = new Map<string, number>();
  private waiting: { revision: number; instances: number; resolve(): void }[] = [];

  constructor(
    private readonly store: RoleStore,
    /** The stored state the model was built from. */
    public state: StoredRoles,
    private readonly apply: (state: StoredRoles) => void,
    private readonly logger: Logger,
  ) {}

  private get revision(): number {
    return this.state.revision;
  }

  /** Takes a state loaded or committed here, unless the model is already as new. */
  accept(state: StoredRoles): void {
    if (state.revision <= this.revision) return;
    this.state = state;
    this.apply(state);
    this.logger.info({ revision: state.revision }, 'roles reloaded');
    this.acknowledge(state.revision);
  }

  /** Loads everything stored and takes it; calls made meanwhile load once more after it. */
  refresh(): Promise<void> {
    if (this.pending) {
      this.again = true;
      return this.pending;
    }
    const reload = async () => {
      do {
        this.again = false;
        this.accept(await this.store.load());
      } while (this.again);
    };
    this.pending = reload()
      .catch((error: unknown) =>
        this.logger.error({ error: errorMessage(error) }, 'roles reload failed; keeping the model'),
      )
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  async start(db: Database, refreshInterval: number): Promise<'notify' | 'poll'> {
    const channel = this.store.channel;
    if (db.listen && channel !== undefined) {
      this.stopListening = await db.listen(channel, {
        onNotify: (payload) => this.notified(payload),
        onReconnect: () => void this.refresh(),
      });
      this.confirming = db.provider === 'postgres';
      // A change committed between the first load and LISTEN sent its notification to no one.
      await this.refresh();
      return 'notify';
    }
    const poll = async () => {
      try {
        if ((await this.store.revision()) > this.revision) await this.refresh();
      } catch (error) {
        this.logger.warn({ error: errorMessage(error) }, 'roles revision read failed');
      }
      if (this.timer !== undefined) this.timer = setTimeout(poll, refreshInterval).unref();
    };
    this.timer = setTimeout(poll, refreshInterval).unref();
    return 'poll';
  }

  private notified(payload: string): void {
    const ack = ACK.exec(payload);
    if (ack === null) {
      const revision = Number(payload);
      if (revision > this.revision) void this.refresh();
      else this.acknowledge(revision);
      return;
    }
    const [, instance, revision] = ack;
    this.acks.set(instance, Math.max(Number(revision), this.acks.get(instance) ?? 0));
    this.waiting = this.waiting.filter((waiter) => {
      if (this.acknowledged(waiter.revision) < waiter.instances) return true;
      waiter.resolve();
      return false;
    });
  }

  private acknowledge(revision: number): void {
    if (!this.confirming) return;
    this.store
      .notify(`ack ${this.instance} ${revision}`)
      .catch((error: unknown) =>
        this.logger.warn({ error: errorMessage(error) }, 'roles acknowledgement not sent'),
      );
  }

  private acknowledged(revision: number): number {
    let count = 0;
    for (const seen of this.acks.values()) if (seen >= revision) count++;
    return count;
  }

  /**
   * PostgreSQL: resolves once every instance listening on the channel (this one included) has
   * acknowledged `revision`, or after `timeout` ms (logged: an instance that is slow or gone is
   * then behind until its notification arrives or its connection comes back). At once elsewhere.
   */
  async delivered(revision: number, timeout: number): Promise<void> {
    if (!this.confirming) return;
    const instances = await this.store.listeners();
    if (this.acknowledged(revision) >= instances) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((waiter) => waiter.resolve !== done);
        this.logger.warn(
          { revision, instances, acknowledged: this.acknowledged(revision), timeout },
          'roles change answered before every instance acknowledged it',
        );
        resolve();
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.push({ revision, instances, resolve: done });
    });
  }

  async stop(): Promise<void> {
    this.confirming = false;
    for (const waiter of this.waiting.splice(0)) waiter.resolve();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.stopListening?.();
    await this.pending;
  }
}
