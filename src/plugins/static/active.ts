import { sql, type SQL } from 'drizzle-orm';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.js';
import { ACTIVE_TABLE } from '../../core/releases/index.js';
import type { Database, DatabaseTransaction } from '../database/index.js';

/** A frontend's active release and rollback target, as every gateway on the database sees them. */
export interface ActiveState {
  active?: string;
  previous?: string;
  /** Bumped by every change: what tells a gateway it is behind. */
  revision: number;
}

interface ActiveRow {
  active: string | null;
  previous: string | null;
  revision: number | string;
}

/** The NOTIFY channel of this database (and schema): gateways on other schemas are not told. */
function channelOf(db: Database): string | undefined {
  if (db.provider !== 'postgres') return undefined;
  const schema = db.schema?.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return (schema ? `qwickapps_releases_${schema}` : 'qwickapps_releases').slice(0, 63);
}

/**
 * The active release of one frontend (`scope`) in the shared database: one row, changed in a
 * transaction that locks it, bumps its revision and, on PostgreSQL, sends NOTIFY with the scope,
 * which the database delivers at commit. Other gateways follow with a LISTEN on a connection of
 * their own (reloading after it reconnects, since notifications sent meanwhile are lost) or, on
 * MySQL, by reading the revision every `pollInterval` ms.
 */
export class SharedActive {
  private readonly table: SQL;
  private readonly channel: string | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly scope: string,
    private readonly logger: Logger,
  ) {
    this.table = sql.raw(db.dialect === 'mysql' ? `\`${ACTIVE_TABLE}\`` : `"${ACTIVE_TABLE}"`);
    this.channel = channelOf(db);
  }

  async read(db: Database | DatabaseTransaction = this.db, lock = false): Promise<ActiveState> {
    const [row] = await db.rows<ActiveRow>(
      sql`SELECT active, previous, revision FROM ${this.table} WHERE scope = ${this.scope}${lock ? sql` FOR UPDATE` : sql``}`,
    );
    return {
      ...(row?.active ? { active: row.active } : {}),
      ...(row?.previous ? { previous: row.previous } : {}),
      revision: Number(row?.revision ?? 0),
    };
  }

  /**
   * One change: `decide` sees the state with its row locked (no other gateway changes it until
   * commit) and answers the new active release and rollback target, or throws to refuse.
   */
  async change(
    decide: (state: ActiveState) => Promise<{ active: string; previous?: string }>,
  ): Promise<ActiveState> {
    return this.db.transaction(async (tx) => {
      const insert =
        this.db.dialect === 'mysql'
          ? sql`INSERT IGNORE INTO ${this.table} (scope, active, previous, revision) VALUES (${this.scope}, NULL, NULL, 0)`
          : sql`INSERT INTO ${this.table} (scope, active, previous, revision) VALUES (${this.scope}, NULL, NULL, 0) ON CONFLICT (scope) DO NOTHING`;
      await tx.run(insert);
      const current = await this.read(tx, true);
      const next = await decide(current);
      const revision = current.revision + 1;
      await tx.run(
        sql`UPDATE ${this.table} SET active = ${next.active}, previous = ${next.previous ?? null}, revision = ${revision} WHERE scope = ${this.scope}`,
      );
      if (this.channel !== undefined)
        await tx.run(sql`SELECT pg_notify(${this.channel}, ${`${this.scope} ${revision}`})`);
      return { ...next, revision };
    });
  }

  /**
   * Calls `changed` whenever another gateway may have changed the state: on each notification
   * for this scope, after the listening connection came back, and on MySQL whenever the polled
   * revision passed `known()`. Answers how it follows.
   */
  async follow(
    known: () => number,
    changed: () => void,
    pollInterval: number,
  ): Promise<'notify' | 'poll'> {
    if (this.db.listen && this.channel !== undefined) {
      this.stopListening = await this.db.listen(this.channel, {
        onNotify: (payload) => {
          const [scope, revision] = payload.split(' ');
          if (scope === this.scope && Number(revision) > known()) changed();
        },
        onReconnect: changed,
      });
      return 'notify';
    }
    const poll = async () => {
      try {
        if ((await this.read()).revision > known()) changed();
      } catch (error) {
        this.logger.warn({ error: errorMessage(error) }, 'active frontend release read failed');
      }
      if (this.timer !== undefined) this.timer = setTimeout(poll, pollInterval).unref();
    };
    this.timer = setTimeout(poll, pollInterval).unref();
    return 'poll';
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.stopListening?.();
    this.stopListening = undefined;
  }
}
