import { sql, type SQL } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../database/index.js';
import { identifier, rows } from './sql.js';

const keyOf = (issuer: string, subject: string) => `${issuer}\n${subject}`;

/**
 * The identities (issuer + subject) of disabled users, in memory, so the auth plugin refuses a
 * disabled user's still-valid token or cookie session without a database read per request.
 * Reloaded at once after a change on this instance, and every `refreshMs` for changes made on
 * other instances: that interval bounds how long a user disabled elsewhere is still let in.
 */
export class DisabledIdentities {
  private keys = new Set<string>();
  private readonly users: SQL;
  private readonly identities: SQL;
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by every change here: a reload that began before one is stale and runs again. */
  private version = 0;
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    table: string,
    private readonly refreshMs: number,
    private readonly logger: Logger,
  ) {
    this.users = identifier(db.dialect, table);
    this.identities = identifier(db.dialect, `${table}_identities`);
  }

  has(issuer: string, subject: string): boolean {
    return this.keys.size > 0 && this.keys.has(keyOf(issuer, subject));
  }

  get size(): number {
    return this.keys.size;
  }

  /** Loads the set now and then every `refreshMs` (the timer never keeps the process up). */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((error: unknown) =>
        this.logger.warn(
          { reason: (error as Error).message },
          'disabled users could not be reloaded; the last set stays in force',
        ),
      );
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A user was disabled, enabled, deleted or linked here: reload before answering. */
  async changed(): Promise<void> {
    this.version++;
    await this.reload();
  }

  private reload(): Promise<void> {
    // One reload at a time; a change during it makes it run again with the newer rows.
    this.reloading ??= this.load().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async load(): Promise<void> {
    for (;;) {
      const version = this.version;
      const found = await rows<{ issuer: string; subject: string }>(
        this.db,
        sql`SELECT i.issuer, i.subject FROM ${this.identities} i JOIN ${this.users} u ON u.id = i.user_id WHERE u.disabled_at IS NOT NULL`,
      );
      if (version !== this.version) continue;
      this.keys = new Set(found.map((row) => keyOf(String(row.issuer), String(row.subject))));
      return;
    }
  }
}
