import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../database/index.js';
import type { DatabaseDialect, DatabaseTransaction } from '../database/index.js';
import type { GrantConfig } from './options.js';
import { ASSIGNMENTS_TABLE, REVISION_TABLE, ROLES_TABLE } from './schema.js';

/** A role kept in the database. */
export interface StoredRole {
  name: string;
  description?: string;
  inherits: string[];
  grants: GrantConfig[];
}

/** Everything stored, as of one revision. */
export interface StoredRoles {
  revision: number;
  roles: ReadonlyMap<string, StoredRole>;
  /** User id to the roles the database assigns it. */
  assignments: ReadonlyMap<string, readonly string[]>;
}

/** The writes a change makes, inside its transaction. */
export interface RoleWrites {
  putRole(role: StoredRole, exists: boolean): Promise<void>;
  deleteRole(name: string): Promise<void>;
  assign(user: string, role: string): Promise<void>;
  unassign(user: string, role: string): Promise<void>;
}

type Executor = Database | DatabaseTransaction;

const identifier = (dialect: DatabaseDialect, name: string): SQL =>
  sql.raw(dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
const rows = <Row>(db: Executor, query: SQL) => db.rows<Row>(query);
const run = (db: Executor, query: SQL) => db.run(query);

interface RoleRow {
  name: string;
  description: string | null;
  inherits: string;
  grants: string;
}

/** The NOTIFY channel of this database (and schema): instances on other schemas are not told. */
export function channelOf(db: Database): string | undefined {
  if (db.dialect !== 'postgresql') return undefined;
  const schema = db.schema?.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return (schema ? `qwickapps_roles_${schema}` : 'qwickapps_roles').slice(0, 63);
}

/**
 * Roles and assignments in the database plugin's database (tables in schema.ts). Reads are whole:
 * the compiled model is rebuilt from everything stored, so a change is one transaction that
 * bumps the revision first (which orders concurrent writers by its row lock), validates against
 * the state it then reads, writes, and on PostgreSQL sends NOTIFY with the new revision, which
 * the database delivers at commit.
 */
export class RoleStore {
  readonly channel: string | undefined;
  private readonly roles: SQL;
  private readonly assignments: SQL;
  private readonly revisions: SQL;

  constructor(private readonly db: Database) {
    this.channel = channelOf(db);
    this.roles = identifier(db.dialect, ROLES_TABLE);
    this.assignments = identifier(db.dialect, ASSIGNMENTS_TABLE);
    this.revisions = identifier(db.dialect, REVISION_TABLE);
  }

  /** The stored revision: one primary-key read, what MySQL and SQLite instances poll. */
  async revision(db: Executor = this.db): Promise<number> {
    const [row] = await rows<{ revision: number | string }>(
      db,
      sql`SELECT revision FROM ${this.revisions} WHERE id = 1`,
    );
    return Number(row?.revision ?? 0);
  }

  /**
   * Everything stored. The revision is read first: a change committed in between makes the
   * roles newer than the revision says, and the next read of the revision loads them again.
   */
  async load(db: Executor = this.db): Promise<StoredRoles> {
    const revision = await this.revision(db);
    const roleRows = await rows<RoleRow>(
      db,
      sql`SELECT name, description, inherits, grants FROM ${this.roles} ORDER BY name`,
    );
    const assignmentRows = await rows<{ user_id: string; role: string }>(
      db,
      sql`SELECT user_id, role FROM ${this.assignments} ORDER BY user_id, created_at, role`,
    );
    const roles = new Map<string, StoredRole>();
    for (const row of roleRows)
      roles.set(row.name, {
        name: row.name,
        ...(row.description === null ? {} : { description: row.description }),
        inherits: JSON.parse(row.inherits) as string[],
        grants: JSON.parse(row.grants) as GrantConfig[],
      });
    const assignments = new Map<string, string[]>();
    for (const row of assignmentRows) {
      const held = assignments.get(row.user_id);
      if (held) held.push(row.role);
      else assignments.set(row.user_id, [row.role]);
    }
    return { revision, roles, assignments };
  }

  /**
   * One change: `fn` sees the state after this change's revision bump (no other writer can
   * change it until commit), throws to refuse, or writes. Answers `fn`'s result and the state
   * it committed.
   */
  async change<T>(
    fn: (writes: RoleWrites, state: StoredRoles) => Promise<T>,
  ): Promise<{ result: T; state: StoredRoles }> {
    return this.db.transaction(async (tx) => {
      await run(tx, sql`UPDATE ${this.revisions} SET revision = revision + 1 WHERE id = 1`);
      const result = await fn(this.writes(tx), await this.load(tx));
      const state = await this.load(tx);
      if (this.channel !== undefined)
        await run(tx, sql`SELECT pg_notify(${this.channel}, ${String(state.revision)})`);
      return { result, state };
    });
  }

  /** PostgreSQL: sends `payload` on the channel, outside any change (acknowledgements). */
  async notify(payload: string): Promise<void> {
    if (this.channel !== undefined)
      await run(this.db, sql`SELECT pg_notify(${this.channel}, ${payload})`);
  }

  /**
   * PostgreSQL: how many instances listen on the channel. Each listens on a connection of its
   * own that runs nothing but its LISTEN, which therefore stays that connection's last query.
   */
  async listeners(): Promise<number> {
    const [row] = await rows<{ listening: number | string }>(
      this.db,
      sql`SELECT count(*) AS listening FROM pg_stat_activity WHERE datname = current_database() AND query = ${`LISTEN "${this.channel}"`}`,
    );
    return Number(row?.listening ?? 0);
  }

  private writes(tx: Executor): RoleWrites {
    return {
      putRole: async (role, exists) => {
        const now = Date.now();
        const inherits = JSON.stringify(role.inherits);
        const grants = JSON.stringify(role.grants);
        const description = role.description ?? null;
        await run(
          tx,
          exists
            ? sql`UPDATE ${this.roles} SET description = ${description}, inherits = ${inherits}, grants = ${grants}, updated_at = ${now} WHERE name = ${role.name}`
            : sql`INSERT INTO ${this.roles} (name, description, inherits, grants, created_at, updated_at) VALUES (${role.name}, ${description}, ${inherits}, ${grants}, ${now}, ${now})`,
        );
      },
      deleteRole: (name) => run(tx, sql`DELETE FROM ${this.roles} WHERE name = ${name}`),
      assign: (user, role) =>
        run(
          tx,
          sql`INSERT INTO ${this.assignments} (user_id, role, created_at) VALUES (${user}, ${role}, ${Date.now()})`,
        ),
      unassign: (user, role) =>
        run(tx, sql`DELETE FROM ${this.assignments} WHERE user_id = ${user} AND role = ${role}`),
    };
  }
}
