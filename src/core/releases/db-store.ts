import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import type { Database, DatabaseTransaction } from '../../plugins/database/index.js';
import { CorruptReleaseError, ReleaseError } from './error.js';
import { extractArchive, type ExtractLimits } from './extract.js';
import { CHUNKS_TABLE, RELEASES_TABLE } from './schema.js';
import type { ReleaseRecord, ReleaseStore } from './store.js';
import type { ReceivedArchive } from './upload.js';

/** Bytes of an archive per row: far below MySQL's default `max_allowed_packet` (16 MiB). */
const CHUNK_BYTES = 1024 * 1024;
/** Materialised releases on this gateway's disk, beside (never among) folders put there by hand. */
const SHARED = '.shared';
const SCRATCH = '.incoming';
/** Scratch files older than this were left by a process that died: removed on open. */
const STALE_SCRATCH_MS = 60 * 60_000;

interface RecordRow {
  version: string;
  sha256: string;
  size: number | string;
  chunks: number | string;
  uploaded_at: number | string;
}

const toRecord = (row: RecordRow): ReleaseRecord => ({
  version: row.version,
  size: Number(row.size),
  sha256: row.sha256.trim(),
  uploadedAt: new Date(Number(row.uploaded_at)).toISOString(),
});

type Executor = Database | DatabaseTransaction;

/**
 * Releases in the database plugin's database, where every gateway reads them: each release's
 * record and its archive's bytes, written once per version in one transaction. A gateway
 * materialises a release onto its own disk the first time it needs its files (`directory`):
 * the archive is read chunk by chunk into a scratch file, its SHA-256 checked again, unpacked
 * with the same checks as an upload, and moved into `<root>/.shared/<version>@<sha>/` by one
 * rename. Gateways or processes racing to materialise the same release each unpack their own
 * copy and the first rename wins; the folder's name carries the checksum, so whatever holds that
 * name holds those bytes, and a version pruned and uploaded again never meets a stale folder.
 */
export class DatabaseReleaseStore implements ReleaseStore {
  readonly shared = true;
  readonly scratch: string;
  private readonly releases: SQL;
  private readonly chunks: SQL;
  private readonly materialising = new Map<string, Promise<string>>();

  constructor(
    private readonly db: Database,
    /** Whose releases: `service:api`, `static:static`. */
    private readonly scope: string,
    /** This gateway's folder for materialised releases. */
    private readonly root: string,
    private readonly limits: ExtractLimits,
  ) {
    const quote = (name: string) => sql.raw(db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
    this.releases = quote(RELEASES_TABLE);
    this.chunks = quote(CHUNKS_TABLE);
    this.scratch = path.join(root, SCRATCH);
  }

  get description(): string {
    return `database (${this.db.provider}), materialised under ${path.join(this.root, SHARED)}`;
  }

  /** Removes what a process that died left in the scratch folder (others may be writing there). */
  async open(): Promise<void> {
    await mkdir(this.scratch, { recursive: true, mode: 0o700 });
    await mkdir(path.join(this.root, SHARED), { recursive: true });
    const now = Date.now();
    for (const name of await readdir(this.scratch)) {
      const file = path.join(this.scratch, name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_SCRATCH_MS)
        await rm(file, { recursive: true, force: true });
    }
  }

  async list(): Promise<ReleaseRecord[]> {
    const rows = await this.db.rows<RecordRow>(
      sql`SELECT version, sha256, size, chunks, uploaded_at FROM ${this.releases} WHERE scope = ${this.scope} ORDER BY uploaded_at DESC`,
    );
    return rows
      .map(toRecord)
      .sort(
        (a, b) =>
          b.uploadedAt.localeCompare(a.uploadedAt) ||
          b.version.localeCompare(a.version, 'en', { numeric: true }),
      );
  }

  async get(version: string, db: Executor = this.db): Promise<ReleaseRecord | undefined> {
    const [row] = await db.rows<RecordRow>(
      sql`SELECT version, sha256, size, chunks, uploaded_at FROM ${this.releases} WHERE scope = ${this.scope} AND version = ${version}`,
    );
    return row && toRecord(row);
  }

  /** The release's files on this gateway, materialised from the database on first need. */
  async directory(version: string): Promise<string | undefined> {
    const record = await this.get(version);
    if (!record) return undefined;
    const folder = this.folder(record);
    if (await isFolder(folder)) return folder;
    const key = path.basename(folder);
    let running = this.materialising.get(key);
    if (!running) {
      running = this.materialise(record).finally(() => this.materialising.delete(key));
      this.materialising.set(key, running);
    }
    return running;
  }

  /**
   * Unpacks the archive first (an archive that would be refused is never stored), then writes
   * the record and the chunks in one transaction. The record is inserted before the chunks and
   * only when no row holds the version: a concurrent upload of the same version waits on that
   * row until the first commits, then finds it and compares checksums as a later upload would.
   */
  async add(
    version: string,
    archive: ReceivedArchive,
    limits: ExtractLimits,
  ): Promise<{ record: ReleaseRecord; created: boolean }> {
    const existing = await this.get(version);
    if (existing) return this.compare(existing, archive);
    const unpacked = path.join(this.scratch, `${randomUUID()}.release`);
    await extractArchive(archive.file, unpacked, limits);
    try {
      const uploadedAt = Date.now();
      const chunks = Math.max(1, Math.ceil(archive.size / CHUNK_BYTES));
      const outcome = await this.db.transaction(async (tx) => {
        const values = sql`(${this.scope}, ${version}, ${archive.sha256}, ${archive.size}, ${chunks}, ${uploadedAt})`;
        const columns = sql`(scope, version, sha256, size, chunks, uploaded_at)`;
        // Whether this statement inserted the row: two uploads may share a millisecond.
        let inserted: boolean;
        if (this.db.dialect === 'mysql') {
          await tx.run(sql`INSERT IGNORE INTO ${this.releases} ${columns} VALUES ${values}`);
          const [row] = await tx.rows<{ n: number | string }>(sql`SELECT ROW_COUNT() AS n`);
          inserted = Number(row?.n) === 1;
        } else {
          const rows = await tx.rows(
            sql`INSERT INTO ${this.releases} ${columns} VALUES ${values} ON CONFLICT (scope, version) DO NOTHING RETURNING version`,
          );
          inserted = rows.length === 1;
        }
        const stored = (await this.get(version, tx))!;
        if (!inserted) return { record: stored, created: false };
        await this.writeChunks(tx, version, archive.file);
        return { record: stored, created: true };
      });
      if (!outcome.created) return this.compare(outcome.record, archive);
      // This gateway has the files already: they become its materialised copy.
      await this.place(unpacked, this.folder(outcome.record));
      return outcome;
    } finally {
      await rm(unpacked, { recursive: true, force: true });
    }
  }

  async remove(version: string): Promise<void> {
    const record = await this.get(version);
    await this.db.transaction(async (tx) => {
      await tx.run(
        sql`DELETE FROM ${this.chunks} WHERE scope = ${this.scope} AND version = ${version}`,
      );
      await tx.run(
        sql`DELETE FROM ${this.releases} WHERE scope = ${this.scope} AND version = ${version}`,
      );
    });
    if (record) await this.discard(path.basename(this.folder(record)));
  }

  /**
   * Removes materialised folders of releases no longer stored (pruned through another gateway),
   * except those of `keep` (still served or running here). Answers the folders removed.
   */
  async sweep(keep: ReadonlySet<string>): Promise<string[]> {
    const stored = new Set((await this.list()).map((record) => path.basename(this.folder(record))));
    const names = await readdir(path.join(this.root, SHARED)).catch(() => [] as string[]);
    const doomed = names.filter((name) => {
      const version = name.slice(0, name.lastIndexOf('@'));
      return !stored.has(name) && !keep.has(version) && !name.startsWith('.');
    });
    for (const name of doomed) await this.discard(name);
    return doomed;
  }

  private compare(
    existing: ReleaseRecord,
    archive: ReceivedArchive,
  ): { record: ReleaseRecord; created: boolean } {
    if (existing.sha256 === archive.sha256) return { record: existing, created: false };
    throw new ReleaseError(
      'exists',
      `Release ${existing.version} is already stored with other content (SHA-256 ${existing.sha256}); a version names one build: upload this one under a new version.`,
      { sha256: existing.sha256 },
    );
  }

  private async writeChunks(tx: DatabaseTransaction, version: string, file: string) {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(CHUNK_BYTES);
      for (let seq = 0; ; seq++) {
        const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
        if (bytesRead === 0 && seq > 0) break;
        const data = Buffer.from(buffer.subarray(0, bytesRead));
        await tx.run(
          sql`INSERT INTO ${this.chunks} (scope, version, seq, data) VALUES (${this.scope}, ${version}, ${seq}, ${data})`,
        );
        if (bytesRead < CHUNK_BYTES) break;
      }
    } finally {
      await handle.close();
    }
  }

  /** Reads the archive into a scratch file, checks it again, unpacks it and moves it in place. */
  private async materialise(record: ReleaseRecord): Promise<string> {
    await mkdir(this.scratch, { recursive: true, mode: 0o700 });
    await mkdir(path.join(this.root, SHARED), { recursive: true });
    const file = path.join(this.scratch, `${randomUUID()}.download`);
    const unpacked = path.join(this.scratch, `${randomUUID()}.release`);
    try {
      const hash = createHash('sha256');
      let size = 0;
      const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      const done = new Promise<void>((resolve, reject) => {
        out.on('finish', resolve);
        out.on('error', reject);
      });
      for (let seq = 0; ; seq++) {
        const [row] = await this.db.rows<{ data: Buffer | Uint8Array }>(
          sql`SELECT data FROM ${this.chunks} WHERE scope = ${this.scope} AND version = ${record.version} AND seq = ${seq}`,
        );
        if (!row) break;
        const data = Buffer.from(row.data);
        size += data.length;
        hash.update(data);
        if (!out.write(data))
          await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await done;
      const sha256 = hash.digest('hex');
      if (size !== record.size || !timingSafeEqual(Buffer.from(sha256), Buffer.from(record.sha256)))
        throw new CorruptReleaseError(
          `release ${record.version} read back from the database as ${size} bytes with SHA-256 ${sha256}, not the ${record.size} bytes with ${record.sha256} uploaded: not materialised`,
        );
      await extractArchive(file, unpacked, this.limits);
      const folder = this.folder(record);
      await this.place(unpacked, folder);
      return folder;
    } finally {
      await rm(file, { force: true });
      await rm(unpacked, { recursive: true, force: true });
    }
  }

  /** One rename; when another process got there first, its folder (same bytes) stays. */
  private async place(unpacked: string, folder: string): Promise<void> {
    try {
      await rename(unpacked, folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await isFolder(folder))) return;
      throw error;
    }
  }

  /** Moves a folder aside first, so nobody finds it half removed. */
  private async discard(name: string): Promise<void> {
    const doomed = path.join(this.scratch, `${randomUUID()}.removed`);
    await mkdir(this.scratch, { recursive: true, mode: 0o700 });
    try {
      await rename(path.join(this.root, SHARED, name), doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  private folder(record: ReleaseRecord): string {
    return path.join(this.root, SHARED, `${record.version}@${record.sha256.slice(0, 16)}`);
  }
}

async function isFolder(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isDirectory() === true;
}
