import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../database/index.js';
import type { ServiceState } from './state.js';
import { parseStates, type TrafficStore } from './store.js';

/**
 * Traffic state in a table of the database plugin: one row per service holding its state as
 * JSON, replaced in one statement (an upsert), so a row is always a complete state. The table is
 * created when missing; it is the plugin's only table, so no migration folder ships with it.
 */
export class DatabaseStore implements TrafficStore {
  readonly description: string;
  private readonly table: SQL;

  constructor(
    private readonly database: Database,
    table: string,
  ) {
    this.description = `database table ${table} (${database.provider})`;
    // The name is validated by the options schema (lower-case identifier); quoted all the same.
    this.table = sql.raw(database.dialect === 'mysql' ? `\`${table}\`` : `"${table}"`);
  }

  async open(): Promise<void> {
    const db = this.database;
    if (db.is('postgresql'))
      await db.drizzle.execute(
        sql`CREATE TABLE IF NOT EXISTS ${this.table} (service VARCHAR(64) PRIMARY KEY, state TEXT NOT NULL, updated_at BIGINT NOT NULL)`,
      );
    else if (db.is('mysql'))
      await db.drizzle.execute(
        sql`CREATE TABLE IF NOT EXISTS ${this.table} (service VARCHAR(64) PRIMARY KEY, state LONGTEXT NOT NULL, updated_at BIGINT NOT NULL)`,
      );
    else if (db.is('sqlite'))
      db.drizzle.run(
        sql`CREATE TABLE IF NOT EXISTS ${this.table} (service TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
      );
  }

  async load(): Promise<Map<string, ServiceState>> {
    const rows = await this.rows(sql`SELECT service, state FROM ${this.table}`);
    const services: Record<string, unknown> = {};
    for (const row of rows) services[String(row.service)] = JSON.parse(String(row.state));
    return parseStates(this.description, JSON.stringify({ services }));
  }

  async save(state: ServiceState): Promise<void> {
    const db = this.database;
    const json = JSON.stringify(state);
    const now = Date.now();
    if (db.is('mysql')) {
      await db.drizzle.execute(
        sql`INSERT INTO ${this.table} (service, state, updated_at) VALUES (${state.service}, ${json}, ${now}) ON DUPLICATE KEY UPDATE state = VALUES(state), updated_at = VALUES(updated_at)`,
      );
      return;
    }
    const upsert = sql`INSERT INTO ${this.table} (service, state, updated_at) VALUES (${state.service}, ${json}, ${now}) ON CONFLICT (service) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`;
    if (db.is('postgresql')) await db.drizzle.execute(upsert);
    else if (db.is('sqlite')) db.drizzle.run(upsert);
  }

  /** The database plugin closes its own connections. */
  async close(): Promise<void> {}

  private async rows(query: SQL): Promise<Record<string, unknown>[]> {
    const db = this.database;
    if (db.is('postgresql')) return (await db.drizzle.execute(query)).rows;
    if (db.is('mysql')) {
      const [rows] = (await db.drizzle.execute(query)) as unknown as [Record<string, unknown>[]];
      return rows;
    }
    if (db.is('sqlite')) return db.drizzle.all<Record<string, unknown>>(query);
    return [];
  }
}
