import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { Database } from '../database/index.js';
import type { SyncConfig, UsersConfig } from './options.js';
import type { ProviderUser, SyncCursor, SyncSource } from './providers.js';
import { identifier, rows, run } from './sql.js';
import type { User, UserIdentity, UserStore } from './store.js';
import { validateFields, type FieldValues } from './validate.js';

/** The provider fields a sync copies, by the user field they fill (when that field is configured). */
const SYNCED_FIELDS = ['email', 'name', 'avatar'] as const;

export interface SyncCounts {
  /** New users (with their identity), blocked ones disabled at once. */
  created: number;
  /** Known users whose email, name or avatar changed. */
  updated: number;
  /** Known users the provider blocks (or bans), disabled now; their sessions end. */
  disabled: number;
  unchanged: number;
  /** Users that could not be applied (invalid fields, a taken email): logged, the sync goes on. */
  failed: number;
}

/** What a sync did; each provider user counts once (failed, created, disabled, updated, unchanged). */
export interface SyncReport extends SyncCounts {
  provider: SyncConfig['provider'];
  status: 'completed' | 'failed' | 'stopped';
  startedAt: string;
  finishedAt: string;
  /** The page a resumed sync continued from (a run before it stopped there). */
  resumedFrom?: number;
  /** Why a sync that did not complete stopped; the next one continues where it did. */
  error?: string;
}

/** A running sync's state, saved after each batch: what a resumed run continues from. */
interface Progress {
  cursor: SyncCursor;
  counts: SyncCounts;
  startedAt: string;
}

const zeroCounts = (): SyncCounts => ({
  created: 0,
  updated: 0,
  disabled: 0,
  unchanged: 0,
  failed: 0,
});

export interface UserSyncDeps {
  db: Database;
  store: UserStore;
  config: UsersConfig & { sync: SyncConfig };
  source: SyncSource;
  logger: Logger;
  /** Ends the sessions of a user the sync disabled. */
  endSessions(identities: UserIdentity[]): Promise<number>;
  /** Users were disabled (the gateway's set of disabled identities must know): after each batch. */
  onDisabled(): Promise<void>;
}

/**
 * Copies the provider's users into the users table, one sync at a time across every instance
 * sharing the database: a lock row (`<table>_sync`) taken by a conditional UPDATE (free, or its
 * holder's lease expired) and renewed after each batch, which also saves the progress. A sync
 * that stopped (a provider error, a crash, a shutdown) leaves its progress, and the next one
 * continues from that page. Applying a user is idempotent: a second sync changes nothing.
 */
export class UserSync {
  private readonly table: SQL;
  private readonly instance = randomUUID();
  /** A user of the current batch was disabled. */
  private disabledInBatch = false;
  private running: { controller: AbortController; done: Promise<SyncReport> } | undefined;

  constructor(private readonly deps: UserSyncDeps) {
    this.table = identifier(deps.db.dialect, `${deps.config.table}_sync`);
  }

  /** Runs one sync; a 409 `USERS_SYNC_RUNNING` when any instance holds the lock. */
  async run(): Promise<SyncReport> {
    const holder = `${this.instance}:${randomUUID()}`.slice(0, 64);
    const state = await this.acquire(holder);
    if (!state)
      throw new HttpError(
        409,
        'USERS_SYNC_RUNNING',
        'A sync is running (on this or another instance); try again when it ends.',
      );
    const controller = new AbortController();
    const running = this.sync(holder, state.progress, controller.signal);
    this.running = { controller, done: running };
    try {
      return await running;
    } finally {
      this.running = undefined;
    }
  }

  /** The last sync's report, and whether one is running now (on any instance). */
  async status(): Promise<{ running: boolean; report: SyncReport | null }> {
    const [row] = await rows<{ holder: string | null; lock_expires_at: unknown; report: unknown }>(
      this.deps.db,
      sql`SELECT holder, lock_expires_at, report FROM ${this.table} WHERE name = 'sync'`,
    );
    const running =
      row !== undefined && row.holder !== null && Number(row.lock_expires_at) > Date.now();
    return { running, report: parse<SyncReport>(row?.report) ?? null };
  }

  /**
   * Stops a running sync of this instance (at shutdown): its current request is aborted, its
   * progress saved and the lock freed, so another instance may continue it.
   */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.controller.abort(new Error('the app is stopping'));
    await running.done.catch(() => undefined);
  }

  private async acquire(holder: string): Promise<{ progress: Progress | undefined } | undefined> {
    const now = Date.now();
    await run(
      this.deps.db,
      sql`UPDATE ${this.table} SET holder = ${holder}, lock_expires_at = ${now + this.deps.config.sync.lockTtl}, updated_at = ${now} WHERE name = 'sync' AND (holder IS NULL OR lock_expires_at < ${now})`,
    );
    // The UPDATE is atomic: whoever's holder is in the row now took it.
    const [row] = await rows<{ holder: string | null; progress: unknown }>(
      this.deps.db,
      sql`SELECT holder, progress FROM ${this.table} WHERE name = 'sync'`,
    );
    if (row?.holder !== holder) return undefined;
    return { progress: parse<Progress>(row.progress) };
  }

  /** Saves the progress and renews the lease; false when another instance took the lock. */
  private async renew(holder: string, progress: Progress): Promise<boolean> {
    const now = Date.now();
    await run(
      this.deps.db,
      sql`UPDATE ${this.table} SET lock_expires_at = ${now + this.deps.config.sync.lockTtl}, progress = ${JSON.stringify(progress)}, updated_at = ${now} WHERE name = 'sync' AND holder = ${holder}`,
    );
    const [row] = await rows<{ holder: string | null }>(
      this.deps.db,
      sql`SELECT holder FROM ${this.table} WHERE name = 'sync'`,
    );
    return row?.holder === holder;
  }

  private async release(holder: string, progress: Progress | null, report: SyncReport) {
    await run(
      this.deps.db,
      sql`UPDATE ${this.table} SET holder = NULL, lock_expires_at = NULL, progress = ${progress === null ? null : JSON.stringify(progress)}, report = ${JSON.stringify(report)}, updated_at = ${Date.now()} WHERE name = 'sync' AND holder = ${holder}`,
    );
  }

  private async sync(
    holder: string,
    saved: Progress | undefined,
    signal: AbortSignal,
  ): Promise<SyncReport> {
    const { logger, config, source } = this.deps;
    const counts = saved ? { ...zeroCounts(), ...saved.counts } : zeroCounts();
    const startedAt = saved?.startedAt ?? new Date().toISOString();
    let cursor = saved?.cursor;
    const report = (status: SyncReport['status'], error?: string): SyncReport => ({
      provider: config.sync.provider,
      status,
      ...counts,
      startedAt,
      finishedAt: new Date().toISOString(),
      ...(saved ? { resumedFrom: saved.cursor.page } : {}),
      ...(error ? { error } : {}),
    });
    logger.info(
      { provider: config.sync.provider, resumeAt: saved?.cursor.page },
      saved ? 'user sync resumed' : 'user sync started',
    );
    try {
      for await (const batch of source.batches(cursor, signal)) {
        const known = await this.deps.store.findBySubjects(
          source.issuer,
          batch.users.map((user) => user.subject).filter((subject) => subject !== ''),
        );
        for (const user of batch.users) await this.applyCounted(user, known, counts);
        if (this.disabledInBatch) {
          this.disabledInBatch = false;
          await this.deps.onDisabled();
        }
        if (batch.next === undefined) break;
        cursor = batch.next;
        if (!(await this.renew(holder, { cursor, counts, startedAt })))
          throw new Error('another instance took the sync lock (this one was too slow)');
      }
    } catch (error) {
      const message = (error as Error).message;
      const stopped = report(signal.aborted ? 'stopped' : 'failed', message);
      const progress = cursor ? { cursor, counts, startedAt } : null;
      await this.release(holder, progress, stopped);
      logger.warn({ ...stopped, resumeAt: cursor?.page }, 'user sync stopped; the next continues');
      return stopped;
    }
    const done = report('completed');
    await this.release(holder, null, done);
    logger.info(done, 'user sync completed');
    return done;
  }

  private async applyCounted(
    user: ProviderUser,
    known: Map<string, User>,
    counts: SyncCounts,
  ): Promise<void> {
    try {
      counts[await this.apply(user, known.get(user.subject))]++;
    } catch (error) {
      counts.failed++;
      this.deps.logger.warn(
        { subject: user.subject, reason: (error as Error).message },
        'user sync: a user could not be applied',
      );
    }
  }

  /** Applies one provider user (`found`: the user its identity links to); answers its count. */
  private async apply(
    user: ProviderUser,
    found: User | undefined,
  ): Promise<Exclude<keyof SyncCounts, 'failed'>> {
    const { store, config, source } = this.deps;
    if (user.subject === '') throw new Error('the provider answered a user without an id');
    const given: Record<string, string> = {};
    for (const field of SYNCED_FIELDS)
      if (Object.hasOwn(config.fields, field) && user[field] !== undefined)
        given[field] = user[field];
    if (!found) {
      const created = await store.create(validateFields(config, given, false), {
        issuer: source.issuer,
        subject: user.subject,
      });
      if (user.disabled) await this.disable(created.id);
      return 'created';
    }
    // Only what the provider sent is set: a field it leaves out keeps the value here.
    const values: FieldValues = validateFields(config, given, true);
    const changed: FieldValues = {};
    for (const [field, value] of Object.entries(values))
      if (value !== found[field]) changed[field] = value;
    const updated = Object.keys(changed).length > 0;
    if (updated) await store.update(found.id, changed);
    // The sync disables, never enables: a user an admin disabled stays so until an admin acts.
    if (user.disabled && found.status === 'active') {
      await this.disable(found.id);
      return 'disabled';
    }
    return updated ? 'updated' : 'unchanged';
  }

  private async disable(id: string): Promise<void> {
    const { identities } = await this.deps.store.setDisabled(id, true);
    this.disabledInBatch = true;
    const sessionsEnded = await this.deps.endSessions(identities);
    this.deps.logger.info({ userId: id, sessionsEnded }, 'user disabled by the provider sync');
  }
}

function parse<T>(value: unknown): T | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}
