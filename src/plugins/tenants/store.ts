import { sql, type SQL } from 'drizzle-orm';
import { HttpError } from '../../core/errors.js';
import type { Database, DrizzleByDialect } from '../database/index.js';
import { MEMBERS_TABLE } from './schema.js';

/** A user's membership of a tenant. Times are ISO 8601. */
export interface Membership {
  tenantId: string;
  /** The caller's id as the auth plugin names it (`auth0|<sub>`, `api-key|<id>`), or a product user id. */
  userId: string;
  roles: string[];
  createdAt: string;
  updatedAt: string;
}

/** A tenant as the admin list shows it: its id and how many members it has. */
export interface TenantSummary {
  tenantId: string;
  members: number;
}

interface MemberRow {
  tenant_id: string;
  user_id: string;
  roles: string;
  created_at: number | string;
  updated_at: number | string;
}

const COLUMNS = sql.raw('tenant_id, user_id, roles, created_at, updated_at');
const toMembership = (row: MemberRow): Membership => ({
  tenantId: row.tenant_id,
  userId: row.user_id,
  roles: JSON.parse(row.roles) as string[],
  createdAt: new Date(Number(row.created_at)).toISOString(),
  updatedAt: new Date(Number(row.updated_at)).toISOString(),
});

/**
 * Memberships in the main database (never a tenant's schema): who may act in which tenant, with
 * which roles. Every check reads the rows, uncached, so a removed member is refused at once on
 * every instance, for the price of one primary-key lookup.
 */
export class MembershipStore {
  private readonly table: SQL;

  constructor(private readonly db: Database) {
    this.table = sql.raw(db.dialect === 'mysql' ? `\`${MEMBERS_TABLE}\`` : `"${MEMBERS_TABLE}"`);
  }

  /** Adds the user to the tenant, or replaces its roles there. */
  async put(tenantId: string, userId: string, roles: string[]): Promise<Membership> {
    const now = Date.now();
    const values = sql`(${tenantId}, ${userId}, ${JSON.stringify(roles)}, ${now}, ${now})`;
    const upsert =
      this.db.dialect === 'mysql'
        ? sql`ON DUPLICATE KEY UPDATE roles = VALUES(roles), updated_at = VALUES(updated_at)`
        : sql`ON CONFLICT (tenant_id, user_id) DO UPDATE SET roles = excluded.roles, updated_at = excluded.updated_at`;
    await this.run(sql`INSERT INTO ${this.table} (${COLUMNS}) VALUES ${values} ${upsert}`);
    return (await this.find(tenantId, [userId]))[0];
  }

  /** Removes the membership; a 404 when there is none. */
  async remove(tenantId: string, userId: string): Promise<void> {
    const [found] = await this.find(tenantId, [userId]);
    if (!found)
      throw new HttpError(
        404,
        'TENANTS_MEMBER_NOT_FOUND',
        `"${userId}" is not a member of the tenant "${tenantId}".`,
      );
    await this.run(
      sql`DELETE FROM ${this.table} WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
    );
  }

  /** The memberships of `tenantId` held under any of `userIds` (a caller may have two ids). */
  async find(tenantId: string, userIds: readonly string[]): Promise<Membership[]> {
    if (userIds.length === 0) return [];
    const ids = sql.join(
      userIds.map((id) => sql`${id}`),
      sql`, `,
    );
    const found = await this.rows(
      sql`SELECT ${COLUMNS} FROM ${this.table} WHERE tenant_id = ${tenantId} AND user_id IN (${ids}) ORDER BY user_id`,
    );
    return found.map(toMembership);
  }

  /** A tenant's members, by user id. */
  async members(tenantId: string): Promise<Membership[]> {
    const found = await this.rows(
      sql`SELECT ${COLUMNS} FROM ${this.table} WHERE tenant_id = ${tenantId} ORDER BY user_id`,
    );
    return found.map(toMembership);
  }

  /** A user's memberships, by tenant id. */
  async tenantsOf(userId: string): Promise<Membership[]> {
    const found = await this.rows(
      sql`SELECT ${COLUMNS} FROM ${this.table} WHERE user_id = ${userId} ORDER BY tenant_id`,
    );
    return found.map(toMembership);
  }

  /** Every tenant that has members, with how many. */
  async tenants(): Promise<TenantSummary[]> {
    const found = await this.rows<{ tenant_id: string; members: number | string }>(
      sql`SELECT tenant_id, COUNT(*) AS members FROM ${this.table} GROUP BY tenant_id ORDER BY tenant_id`,
    );
    return found.map((row) => ({ tenantId: row.tenant_id, members: Number(row.members) }));
  }

  /**
   * The ids of a tenant's members as a subquery, for a store in the same database that lists
   * only a tenant's users (`WHERE id IN (<this>)`).
   */
  memberIds(tenantId: string): SQL {
    return sql`SELECT user_id FROM ${this.table} WHERE tenant_id = ${tenantId}`;
  }

  private async rows<Row = MemberRow>(query: SQL): Promise<Row[]> {
    const db = this.db;
    if (db.is('postgresql')) return (await db.drizzle.execute(query)).rows as unknown as Row[];
    if (db.is('mysql')) {
      const [result] = (await db.drizzle.execute(query)) as unknown as [Row[]];
      return result;
    }
    return (db.drizzle as DrizzleByDialect['sqlite']).all<Row>(query);
  }

  private async run(query: SQL): Promise<void> {
    const db = this.db;
    if (db.is('postgresql')) await db.drizzle.execute(query);
    else if (db.is('mysql')) await db.drizzle.execute(query);
    else (db.drizzle as DrizzleByDialect['sqlite']).run(query);
  }
}
