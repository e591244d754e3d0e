import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.js';
import type { Database } from '../database/index.js';
import type { RoleStore, StoredRoles } from './store.js';

/**
 * Keeps this instance's model at the stored revision. PostgreSQL and PGlite: NOTIFY carries the
 * new revision, and a notification ahead of the model starts a reload at once, which requests
 * arriving meanwhile wait for (`pending`, awaited by the plugin's edge hook), so a request that
 * reaches this instance after the notification decides with the change. MySQL and SQLite: the
 * revision is read every `refreshInterval` ms. A failed reload keeps the model it has (decisions
 * go on) and is logged; the next notification or poll tries again.
 */
export class RolesSync {
  /** A reload under way; requests wait for it so that none decides with a model it outdated. */
  pending: Promise<void> | undefined;
  private again = false;
  private stopListening: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;

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
        onNotify: (payload) => {
          if (Number(payload) > this.revision) void this.refresh();
        },
        onReconnect: () => void this.refresh(),
      });
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

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.stopListening?.();
    await this.pending;
  }
}
