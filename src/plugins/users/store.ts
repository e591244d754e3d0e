import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { HttpError } from '../../core/errors.js';
import type { Database } from '../database/index.js';
import { decodeCursor, encodeCursor, type SortOrder, type UserSort } from './cursor.js';
import { COLUMN_FIELDS, type UsersConfig } from './options.js';
import { identifier, isUniqueViolation, rows, run, type Executor } from './sql.js';
import type { FieldValues } from './validate.js';

/**
 * A user as the API answers it: its id, status and times, and each configured field (absent
 * when the user has no value). Times are ISO 8601.
 */
export interface User {
  id: string;
  status: 'active' | 'disabled';
  createdAt: string;
  updatedAt: string;
  disabledAt?: string;
  [field: string]: string | undefined;
}

/** An identity a user signs in with: the provider's issuer and subject. */
export interface UserIdentity {
  issuer: string;
  subject: string;
  /** The auth plugin's user id (`auth0|<sub>`) once this identity signed in: sessions key by it. */
  authId?: string;
  createdAt: string;
}

export interface ListQuery {
  q?: string;
  limit: number;
  sort: UserSort;
  order: SortOrder;
  cursor?: string;
  /** Only users whose id this subquery answers: a tenant's members (the tenants service's `memberIds`). */
  memberOf?: SQL;
}

export interface UserPage {
  users: User[];
  /** Pass as `cursor` for the next page; absent on the last one. */
  nextCursor?: string;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  profile: string;
  disabled_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

const SORT_COLUMN: Record<UserSort, string> = {
  createdAt: 'created_at',
  email: 'email',
  name: 'name',
};
const COLUMNS = sql.raw('id, email, name, profile, disabled_at, created_at, updated_at');

/** A deadlock or serialisation failure: the statement may simply be run again. */
function isRetryable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code, errno } = current as { code?: unknown; errno?: unknown };
    if (code === '40001' || code === '40P01' || errno === 1213) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Users, their identities and the claims that keep unique fields unique, in the database
 * plugin's database (tables in schema.ts). Every write that touches more than one row runs in
 * one transaction.
 */
export class UserStore {
  private readonly users: SQL;
  private readonly identities: SQL;
  private readonly unique: SQL;

  constructor(
    private readonly db: Database,
    private readonly config: UsersConfig,
  ) {
    this.users = identifier(db.dialect, config.table);
    this.identities = identifier(db.dialect, `${config.table}_identities`);
    this.unique = identifier(db.dialect, `${config.table}_unique`);
  }

  async list(query: ListQuery): Promise<UserPage> {
    const column = sql.raw(SORT_COLUMN[query.sort]);
    const direction = sql.raw(query.order === 'desc' ? 'DESC' : 'ASC');
    const where: SQL[] = [];
    if (query.q) {
      const pattern = `%${query.q.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
      where.push(
        sql`(LOWER(email) LIKE ${pattern} ESCAPE '!' OR LOWER(name) LIKE ${pattern} ESCAPE '!')`,
      );
    }
    if (query.memberOf) where.push(sql`id IN (${query.memberOf})`);
    if (query.cursor) {
      const after = decodeCursor(query.cursor, query.sort, query.order);
      // Keyset: rows strictly after (value, id) in the page's order, ties broken by id.
      const beyond = sql.raw(query.order === 'desc' ? '<' : '>');
      where.push(
        sql`(${column} ${beyond} ${after.value} OR (${column} = ${after.value} AND id ${beyond} ${after.id}))`,
      );
    }
    const filter = where.length > 0 ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
    const found = await rows<UserRow>(
      this.db,
      sql`SELECT ${COLUMNS} FROM ${this.users} ${filter} ORDER BY ${column} ${direction}, id ${direction} LIMIT ${sql.raw(String(query.limit + 1))}`,
    );
    const page = found.slice(0, query.limit);
    const last = page.at(-1);
    const users = page.map((row) => this.toUser(row));
    if (found.length <= query.limit || !last) return { users };
    const value = query.sort === 'createdAt' ? Number(last.created_at) : last[query.sort];
    return {
      users,
      nextCursor: encodeCursor({ sort: query.sort, order: query.order, value, id: last.id }),
    };
  }

  /** The user, or a 404. */
  async get(id: string, db: Executor = this.db): Promise<User> {
    const [row] = await rows<UserRow>(
      db,
      sql`SELECT ${COLUMNS} FROM ${this.users} WHERE id = ${id}`,
    );
    if (!row) throw new HttpError(404, 'USERS_NOT_FOUND', `No user has the id "${id}".`);
    return this.toUser(row);
  }

  async identitiesOf(id: string): Promise<UserIdentity[]> {
    const found = await rows<Record<string, unknown>>(
      this.db,
      sql`SELECT issuer, subject, auth_id, created_at FROM ${this.identities} WHERE user_id = ${id} ORDER BY created_at, issuer, subject`,
    );
    return found.map((row) => ({
      issuer: String(row.issuer),
      subject: String(row.subject),
      ...(row.auth_id ? { authId: String(row.auth_id) } : {}),
      createdAt: new Date(Number(row.created_at)).toISOString(),
    }));
  }

  /** The user an identity is linked to, if any. */
  async findByIdentity(issuer: string, subject: string): Promise<User | undefined> {
    const [row] = await rows<UserRow>(
      this.db,
      sql`SELECT ${sql.raw(['id', 'email', 'name', 'profile', 'disabled_at', 'created_at', 'updated_at'].map((c) => `u.${c}`).join(', '))} FROM ${this.identities} i JOIN ${this.users} u ON u.id = i.user_id WHERE i.issuer = ${issuer} AND i.subject = ${subject}`,
    );
    return row && this.toUser(row);
  }

  /**
   * Creates a user (and links `identity` to it). A taken unique value is a 409 naming the
   * field, a linked identity a 409 `USERS_IDENTITY_TAKEN`: the database's keys decide both.
   */
  async create(
    values: FieldValues,
    identity?: { issuer: string; subject: string; authId?: string },
  ): Promise<User> {
    const id = randomUUID();
    const now = Date.now();
    const { email, name, profile } = this.columns(values);
    await this.retrying(() =>
      this.db.transaction(async (tx) => {
        await run(
          tx,
          sql`INSERT INTO ${this.users} (id, email, name, profile, disabled_at, created_at, updated_at) VALUES (${id}, ${email}, ${name}, ${profile}, NULL, ${now}, ${now})`,
        );
        for (const [field, value] of this.uniqueValues(values))
          await this.claim(tx, id, field, value);
        if (identity) await this.insertIdentity(tx, id, identity, now);
      }),
    );
    return this.get(id);
  }

  /** Sets (a string) or clears (undefined) the given fields; unique values are re-claimed. */
  async update(id: string, values: FieldValues): Promise<User> {
    await this.retrying(() =>
      this.db.transaction(async (tx) => {
        const current = await this.get(id, tx);
        const merged: FieldValues = {};
        for (const field of Object.keys(this.config.fields))
          merged[field] = Object.hasOwn(values, field) ? values[field] : current[field];
        for (const [field, value] of Object.entries(values)) {
          if (!this.config.fields[field]?.unique || value === current[field]) continue;
          await run(tx, sql`DELETE FROM ${this.unique} WHERE user_id = ${id} AND field = ${field}`);
          if (value !== undefined) await this.claim(tx, id, field, value);
        }
        const { email, name, profile } = this.columns(merged);
        await run(
          tx,
          sql`UPDATE ${this.users} SET email = ${email}, name = ${name}, profile = ${profile}, updated_at = ${Date.now()} WHERE id = ${id}`,
        );
      }),
    );
    return this.get(id);
  }

  /** Disables or enables the user; answers it with its identities (to end their sessions). */
  async setDisabled(
    id: string,
    disabled: boolean,
  ): Promise<{ user: User; identities: UserIdentity[] }> {
    await this.get(id);
    const now = Date.now();
    // COALESCE keeps the first disabling time when a disabled user is disabled again.
    await run(
      this.db,
      disabled
        ? sql`UPDATE ${this.users} SET disabled_at = COALESCE(disabled_at, ${now}), updated_at = ${now} WHERE id = ${id}`
        : sql`UPDATE ${this.users} SET disabled_at = NULL, updated_at = ${now} WHERE id = ${id}`,
    );
    return { user: await this.get(id), identities: await this.identitiesOf(id) };
  }

  /** Deletes the user with its identities and claims; answers the identities it had. */
  async delete(id: string): Promise<UserIdentity[]> {
    await this.get(id);
    const identities = await this.identitiesOf(id);
    await this.db.transaction(async (tx) => {
      await run(tx, sql`DELETE FROM ${this.identities} WHERE user_id = ${id}`);
      await run(tx, sql`DELETE FROM ${this.unique} WHERE user_id = ${id}`);
      await run(tx, sql`DELETE FROM ${this.users} WHERE id = ${id}`);
    });
    return identities;
  }

  /** Links another identity to an existing user (409 when it is linked already). */
  async link(id: string, identity: { issuer: string; subject: string }): Promise<UserIdentity[]> {
    await this.db.transaction(async (tx) => {
      await this.get(id, tx);
      await this.insertIdentity(tx, id, identity, Date.now());
    });
    return this.identitiesOf(id);
  }

  /** Records the auth plugin's id of an identity that signed in (its sessions key by it). */
  async recordAuthId(issuer: string, subject: string, authId: string): Promise<void> {
    await run(
      this.db,
      sql`UPDATE ${this.identities} SET auth_id = ${authId} WHERE issuer = ${issuer} AND subject = ${subject}`,
    );
  }

  private async insertIdentity(
    tx: Executor,
    userId: string,
    identity: { issuer: string; subject: string; authId?: string },
    now: number,
  ): Promise<void> {
    try {
      await run(
        tx,
        sql`INSERT INTO ${this.identities} (issuer, subject, user_id, auth_id, created_at) VALUES (${identity.issuer}, ${identity.subject}, ${userId}, ${identity.authId ?? null}, ${now})`,
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new HttpError(
        409,
        'USERS_IDENTITY_TAKEN',
        'That issuer and subject are linked to a user already.',
        { cause: error },
      );
    }
  }

  private async claim(tx: Executor, userId: string, field: string, value: string): Promise<void> {
    try {
      await run(
        tx,
        sql`INSERT INTO ${this.unique} (field, value, user_id) VALUES (${field}, ${value}, ${userId})`,
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new HttpError(409, 'USERS_FIELD_TAKEN', `${field}: another user has this value`, {
        cause: error,
        details: { field },
      });
    }
  }

  /** Deadlocks between concurrent writers are retried (a few times), never shown as a 500. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= 3 || !isRetryable(error)) throw error;
      }
    }
  }

  private uniqueValues(values: FieldValues): [string, string][] {
    return Object.entries(values).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && this.config.fields[entry[0]]?.unique === true,
    );
  }

  private columns(values: FieldValues): { email: string; name: string; profile: string } {
    const profile: Record<string, string> = {};
    for (const [field, value] of Object.entries(values))
      if (!COLUMN_FIELDS.includes(field) && value !== undefined) profile[field] = value;
    return { email: values.email ?? '', name: values.name ?? '', profile: JSON.stringify(profile) };
  }

  private toUser(row: UserRow): User {
    let profile: Record<string, unknown> = {};
    try {
      profile = JSON.parse(row.profile) as Record<string, unknown>;
    } catch {
      profile = {};
    }
    const user: User = {
      id: row.id,
      status: row.disabled_at === null ? 'active' : 'disabled',
      createdAt: new Date(Number(row.created_at)).toISOString(),
      updatedAt: new Date(Number(row.updated_at)).toISOString(),
    };
    if (row.disabled_at !== null) user.disabledAt = new Date(Number(row.disabled_at)).toISOString();
    for (const field of Object.keys(this.config.fields)) {
      const value = field === 'email' ? row.email : field === 'name' ? row.name : profile[field];
      if (typeof value === 'string' && value !== '') user[field] = value;
    }
    return user;
  }
}
