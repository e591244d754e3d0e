import { sql, type SQL } from 'drizzle-orm';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { AuthUser } from '../auth/index.js';
import type { Database } from '../database/index.js';
import { idOf, matches, newKey } from './key.js';
import type { ApiKeysConfig } from './options.js';
import { KEYS_TABLE } from './schema.js';

/** A key as the API lists it: never the key, nor its hash. Times are ISO 8601 or null. */
export interface ApiKey {
  id: string;
  name: string;
  /** The key's public start, `qwk_<id>`: enough to tell keys apart in a secret scanner's report. */
  prefix: string;
  scopes: string[];
  /** The tenant the key acts in, and only there; null for a key of the whole product. */
  tenantId: string | null;
  /** `revoked` wins over `expired`: it says what an operator did. */
  status: 'active' | 'expired' | 'revoked';
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface KeyRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: number | string;
  expires_at: number | string | null;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
  tenant_id: string | null;
}

const COLUMNS = sql.raw(
  'id, name, hash, scopes, created_at, expires_at, last_used_at, revoked_at, tenant_id',
);
const iso = (ms: number | string | null) =>
  ms === null ? null : new Date(Number(ms)).toISOString();

/**
 * API keys in the database plugin's database. `authenticate` reads the key's row by its primary
 * key on every request, uncached: a revocation counts at once on every instance, for the price of
 * one indexed lookup.
 */
export class ApiKeyStore {
  private readonly table: SQL;
  /** When each key's `last_used_at` was last written by this process (epoch ms). */
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly config: ApiKeysConfig,
    private readonly logger: Logger,
  ) {
    this.table = sql.raw(db.dialect === 'mysql' ? `\`${KEYS_TABLE}\`` : `"${KEYS_TABLE}"`);
  }

  /** A new key: the row, and the key itself, which is never seen again. */
  async create(input: {
    name: string;
    scopes: string[];
    expiresIn?: number;
    tenantId?: string;
  }): Promise<ApiKey & { key: string }> {
    const { id, key, hash } = newKey();
    const now = Date.now();
    const expiresAt = input.expiresIn === undefined ? null : now + input.expiresIn * 1000;
    const tenantId = input.tenantId ?? null;
    await this.run(
      sql`INSERT INTO ${this.table} (id, name, hash, scopes, created_at, expires_at, tenant_id) VALUES (${id}, ${input.name}, ${hash}, ${JSON.stringify(input.scopes)}, ${now}, ${expiresAt}, ${tenantId})`,
    );
    return {
      ...this.toKey({
        id,
        name: input.name,
        hash,
        scopes: JSON.stringify(input.scopes),
        created_at: now,
        expires_at: expiresAt,
        last_used_at: null,
        revoked_at: null,
        tenant_id: tenantId,
      }),
      key,
    };
  }

  /** Every key, newest first. */
  async list(): Promise<ApiKey[]> {
    const found = await this.rows(
      sql`SELECT ${COLUMNS} FROM ${this.table} ORDER BY created_at DESC, id`,
    );
    return found.map((row) => this.toKey(row));
  }

  /** Revokes the key (kept in the list, refused from now on); a 404 for an unknown id. */
  async revoke(id: string): Promise<ApiKey> {
    const [row] = await this.rows(sql`SELECT ${COLUMNS} FROM ${this.table} WHERE id = ${id}`);
    if (!row) throw new HttpError(404, 'API_KEYS_NOT_FOUND', `No API key has the id "${id}".`);
    if (row.revoked_at === null) {
      row.revoked_at = Date.now();
      await this.run(
        sql`UPDATE ${this.table} SET revoked_at = ${row.revoked_at} WHERE id = ${id} AND revoked_at IS NULL`,
      );
    }
    return this.toKey(row);
  }

  /**
   * The caller a `qwk_` token stands for, or a refusal reason (for the log, never the client):
   * unknown, revoked, expired, or a secret whose hash does not match (compared in constant time).
   * `unavailable` when the database does not answer: then nobody can tell.
   */
  async authenticate(
    token: string,
  ): Promise<AuthUser | { refused: string; id?: string } | { unavailable: unknown }> {
    const id = idOf(token);
    if (id === undefined) return { refused: 'not a well-formed API key' };
    let row: KeyRow | undefined;
    try {
      [row] = await this.rows(sql`SELECT ${COLUMNS} FROM ${this.table} WHERE id = ${id}`);
    } catch (error) {
      return { unavailable: error };
    }
    if (!row) return { refused: 'unknown key', id };
    // The hash first, so a forged key with a real id learns nothing about the key's state.
    if (!matches(token, row.hash)) return { refused: 'secret does not match', id };
    if (row.revoked_at !== null) return { refused: 'revoked', id };
    const now = Date.now();
    if (row.expires_at !== null && Number(row.expires_at) <= now) return { refused: 'expired', id };
    this.touch(row, now);
    const scopes = JSON.parse(row.scopes) as string[];
    // A tenant's key holds its scopes only inside its tenant: the tenants plugin grants them
    // there (from `claims.scopes`); everywhere else it holds nothing.
    if (row.tenant_id !== null)
      return {
        id: `api-key|${row.id}`,
        provider: 'api-key',
        issuer: 'api-key',
        subject: row.id,
        name: row.name,
        roles: [],
        permissions: [],
        claims: { keyId: row.id, name: row.name, tenantId: row.tenant_id, scopes },
      };
    return {
      id: `api-key|${row.id}`,
      provider: 'api-key',
      issuer: 'api-key',
      subject: row.id,
      name: row.name,
      roles: [],
      permissions: scopes,
      claims: { keyId: row.id, name: row.name },
    };
  }

  /**
   * Records the key's use at most once per `lastUsedInterval`, after the request has moved on:
   * the caller never waits for the write, and a failed write is only logged.
   */
  private touch(row: KeyRow, now: number): void {
    const last = Math.max(this.lastWritten.get(row.id) ?? 0, Number(row.last_used_at ?? 0));
    if (now - last < this.config.lastUsedInterval) return;
    this.lastWritten.set(row.id, now);
    this.logger.info({ key: row.id, name: row.name }, 'api key used');
    setImmediate(() => {
      this.run(sql`UPDATE ${this.table} SET last_used_at = ${now} WHERE id = ${row.id}`).catch(
        (error: unknown) =>
          this.logger.warn({ key: row.id, err: error }, 'api key last use not recorded'),
      );
    });
  }

  private toKey(row: KeyRow): ApiKey {
    return {
      id: row.id,
      name: row.name,
      prefix: `qwk_${row.id}`,
      scopes: JSON.parse(row.scopes) as string[],
      tenantId: row.tenant_id,
      status:
        row.revoked_at !== null
          ? 'revoked'
          : row.expires_at !== null && Number(row.expires_at) <= Date.now()
            ? 'expired'
            : 'active',
      createdAt: iso(row.created_at)!,
      expiresAt: iso(row.expires_at),
      lastUsedAt: iso(row.last_used_at),
      revokedAt: iso(row.revoked_at),
    };
  }

  private rows(query: SQL): Promise<KeyRow[]> {
    return this.db.rows<KeyRow>(query);
  }

  private run(query: SQL): Promise<void> {
    return this.db.run(query);
  }
}
