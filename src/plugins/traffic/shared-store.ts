import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Database, NotificationHandlers } from '../database/index.js';
import type { TrafficEvent } from './machine.js';
import type { ServiceState } from './state.js';
import { parseStates, type TrafficStore } from './store.js';

/** What only the driving gateway can answer: its orchestrator's view of a slot. */
export type SlotQuestion =
  { type: 'runtime'; slot: string } | { type: 'logs'; slot: string; limit: number };

/** What a follower forwards: a command for the state machine, or a question. */
export type ForwardedRequest = TrafficEvent | SlotQuestion;

/** What the gateway that carried out a forwarded command answers. */
export type CommandResult =
  | { ok: true; data?: unknown }
  | {
      ok: false;
      error: { status: number; code: string; message: string; details?: Record<string, unknown> };
    };

export interface ClaimedCommand {
  service: string;
  event: ForwardedRequest;
  /** A gateway waits for the result (commands do; request activity does not). */
  awaited: boolean;
}

/** A save refused because another gateway wrote the state since this one read it. */
export class StaleStateError extends Error {
  constructor(service: string, revision: number) {
    super(
      `the traffic state of ${service} changed since revision ${revision}: another gateway drives it now`,
    );
    this.name = 'StaleStateError';
  }
}

/** Finished commands nobody collected (their gateway stopped) are deleted after this long. */
const COMMAND_RETENTION = 60 * 60_000;

/**
 * Traffic state shared by several gateways on one PostgreSQL database. One row per service, as
 * in the single-gateway table, plus a revision: every save is a compare-and-set on the revision
 * this gateway last read or wrote, and sends `state <service> <revision>` on the channel in the
 * same transaction, so a listener hears of a change exactly when it is committed. A refused save
 * (the revision moved) means another gateway drives the service now: `onConflict` is told.
 *
 * Commands (deploy, promote, ...) received by a gateway that does not drive the orchestrator are
 * rows of a second table, announced as `command <id>`; the driving gateway claims one (a
 * conditional update, so only one ever runs it), carries it out and writes its result, announced
 * as `done <id>`.
 */
export class SharedStore implements TrafficStore {
  readonly description: string;
  /** The notification channel: one per table and schema, as LISTEN is database-wide. */
  readonly channel: string;
  /** The advisory lock's name, scoped the same way. */
  readonly lockName: string;
  /** Health counts reach the other gateways within a second. */
  readonly sharedRefresh = 1_000;
  /** Told when a save is refused because another gateway wrote first. */
  onConflict?: (error: StaleStateError) => void;
  private readonly table: SQL;
  private readonly commands: SQL;
  private readonly revisions = new Map<string, number>();

  constructor(
    private readonly database: Database,
    table: string,
  ) {
    const schema = database.schema;
    this.description = `shared database table ${table} (${database.provider}${schema ? `, schema ${schema}` : ''})`;
    const scope = schema ? `_${createHash('sha256').update(schema).digest('hex').slice(0, 8)}` : '';
    this.channel = `${table.slice(0, 54)}${scope}`;
    this.lockName = `traffic:${schema ?? ''}:${table}`;
    // The name is validated by the options schema (lower-case identifier); quoted all the same.
    this.table = sql.raw(`"${table}"`);
    this.commands = sql.raw(`"${table}_commands"`);
  }

  /** Creates the tables; gateways starting together take turns (DDL races otherwise). */
  async open(): Promise<void> {
    await this.database.transaction(async (tx) => {
      await tx.run(sql`SELECT pg_advisory_xact_lock(hashtext(${this.lockName}))`);
      await tx.run(
        sql`CREATE TABLE IF NOT EXISTS ${this.table} (service VARCHAR(64) PRIMARY KEY, state TEXT NOT NULL, updated_at BIGINT NOT NULL)`,
      );
      // Tables written by a single gateway before have no revision yet.
      await tx.run(
        sql`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS revision BIGINT NOT NULL DEFAULT 0`,
      );
      await tx.run(
        sql`CREATE TABLE IF NOT EXISTS ${this.commands} (id BIGSERIAL PRIMARY KEY, service VARCHAR(64) NOT NULL, command TEXT NOT NULL, awaited BOOLEAN NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'pending', result TEXT, created_at BIGINT NOT NULL)`,
      );
    });
  }

  listen(handlers: NotificationHandlers): Promise<() => Promise<void>> {
    return this.database.listen!(this.channel, handlers);
  }

  async load(): Promise<Map<string, ServiceState>> {
    const rows = await this.database.rows<{ service: string; state: string; revision: string }>(
      sql`SELECT service, state, revision FROM ${this.table}`,
    );
    return this.parse(rows);
  }

  /** One service's state, when it changed since this gateway last read or wrote it. */
  async loadNewer(service: string): Promise<ServiceState | undefined> {
    const rows = await this.database.rows<{ service: string; state: string; revision: string }>(
      sql`SELECT service, state, revision FROM ${this.table} WHERE service = ${service} AND revision > ${this.revision(service)}`,
    );
    return this.parse(rows).get(service);
  }

  revision(service: string): number {
    return this.revisions.get(service) ?? 0;
  }

  async save(state: ServiceState): Promise<void> {
    const { service } = state;
    const known = this.revision(service);
    const json = JSON.stringify(state);
    const now = Date.now();
    // One statement, so one round trip and one transaction: the write and its NOTIFY commit
    // together (a notification is delivered at commit), and nothing is sent when refused.
    const write =
      known === 0
        ? sql`INSERT INTO ${this.table} AS current (service, state, updated_at, revision) VALUES (${service}, ${json}, ${now}, 1) ON CONFLICT (service) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, revision = current.revision + 1 WHERE current.revision = 0 RETURNING revision`
        : sql`UPDATE ${this.table} SET state = ${json}, updated_at = ${now}, revision = revision + 1 WHERE service = ${service} AND revision = ${known} RETURNING revision`;
    const rows = await this.database.rows<{ revision: string }>(
      sql`WITH written AS (${write}) SELECT revision, pg_notify(${this.channel}, ${`state ${service} `} || revision) FROM written`,
    );
    if (rows.length === 0) {
      const stale = new StaleStateError(service, known);
      this.onConflict?.(stale);
      throw stale;
    }
    const revision = Number(rows[0].revision);
    this.revisions.set(service, revision);
  }

  /** The database plugin closes its own connections. */
  async close(): Promise<void> {}

  /** Connections listening on the channel: one per gateway whose connection is up, this one's included. */
  async listeners(): Promise<number> {
    const [row] = await this.database.rows<{ listening: number | string }>(
      sql`SELECT count(*) AS listening FROM pg_stat_activity WHERE datname = current_database() AND query = ${`LISTEN "${this.channel}"`}`,
    );
    return Number(row?.listening ?? 0);
  }

  /** Sends a bare announcement on the channel (`released`: the driver let go of the lock). */
  async announce(message: string): Promise<void> {
    await this.database.run(sql`SELECT pg_notify(${this.channel}, ${message})`);
  }

  /** Queues a command for the driving gateway and announces it; resolves with its id. */
  enqueue(service: string, event: ForwardedRequest, awaited: boolean): Promise<string> {
    return this.database.transaction(async (tx) => {
      const [row] = await tx.rows<{ id: string }>(
        sql`INSERT INTO ${this.commands} (service, command, awaited, created_at) VALUES (${service}, ${JSON.stringify(event)}, ${awaited}, ${Date.now()}) RETURNING id`,
      );
      await tx.run(sql`SELECT pg_notify(${this.channel}, ${`command ${row.id}`})`);
      return String(row.id);
    });
  }

  /** Ids of the commands no gateway has taken yet, oldest first. */
  async pending(): Promise<string[]> {
    const rows = await this.database.rows<{ id: string }>(
      sql`SELECT id FROM ${this.commands} WHERE status = 'pending' ORDER BY id`,
    );
    return rows.map((row) => String(row.id));
  }

  /** Takes a pending command for this gateway to run; undefined when another took it or it expired. */
  async claim(id: string): Promise<ClaimedCommand | undefined> {
    const [row] = await this.database.rows<{ service: string; command: string; awaited: boolean }>(
      sql`UPDATE ${this.commands} SET status = 'running' WHERE id = ${id} AND status = 'pending' RETURNING service, command, awaited`,
    );
    if (!row) return undefined;
    return {
      service: row.service,
      event: JSON.parse(row.command) as ForwardedRequest,
      awaited: row.awaited,
    };
  }

  /** Records what a command did (awaited ones) or forgets it (activity nobody waits for). */
  async finish(id: string, result: CommandResult, awaited: boolean): Promise<void> {
    if (!awaited) {
      await this.database.run(sql`DELETE FROM ${this.commands} WHERE id = ${id}`);
      return;
    }
    await this.database.transaction(async (tx) => {
      await tx.run(
        sql`UPDATE ${this.commands} SET status = 'done', result = ${JSON.stringify(result)} WHERE id = ${id}`,
      );
      await tx.run(sql`SELECT pg_notify(${this.channel}, ${`done ${id}`})`);
    });
  }

  /** The result of a finished command, deleting it; undefined while it is pending or running. */
  async collect(id: string): Promise<CommandResult | undefined> {
    const [row] = await this.database.rows<{ result: string }>(
      sql`DELETE FROM ${this.commands} WHERE id = ${id} AND status = 'done' RETURNING result`,
    );
    return row ? (JSON.parse(row.result) as CommandResult) : undefined;
  }

  /** Withdraws a command no gateway took; false when one is running it already. */
  async withdraw(id: string): Promise<boolean> {
    const rows = await this.database.rows(
      sql`DELETE FROM ${this.commands} WHERE id = ${id} AND status = 'pending' RETURNING id`,
    );
    return rows.length > 0;
  }

  /**
   * At a takeover: commands the previous driver was running when it stopped are answered as
   * interrupted (whether they took effect is in the state), and old leftovers are deleted.
   */
  async interrupt(result: CommandResult): Promise<void> {
    await this.database.transaction(async (tx) => {
      const rows = await tx.rows<{ id: string }>(
        sql`UPDATE ${this.commands} SET status = 'done', result = ${JSON.stringify(result)} WHERE status = 'running' RETURNING id`,
      );
      for (const { id } of rows)
        await tx.run(sql`SELECT pg_notify(${this.channel}, ${`done ${id}`})`);
      await tx.run(
        sql`DELETE FROM ${this.commands} WHERE created_at < ${Date.now() - COMMAND_RETENTION}`,
      );
    });
  }

  private parse(
    rows: { service: string; state: string; revision: string }[],
  ): Map<string, ServiceState> {
    const services: Record<string, unknown> = {};
    for (const row of rows) services[String(row.service)] = JSON.parse(String(row.state));
    const states = parseStates(this.description, JSON.stringify({ services }));
    for (const row of rows) this.revisions.set(String(row.service), Number(row.revision));
    return states;
  }
}
