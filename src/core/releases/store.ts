import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ReleaseError } from './error.js';
import { extractArchive, type ExtractLimits } from './extract.js';
import type { ReceivedArchive } from './upload.js';

/** One uploaded release, as the store records it. */
export interface ReleaseRecord {
  version: string;
  /** Bytes of the archive as uploaded. */
  size: number;
  /** SHA-256 of the archive as uploaded, in hex. */
  sha256: string;
  /** When it was stored (ISO 8601). */
  uploadedAt: string;
}

/**
 * Where one set of releases (one service's, or the frontend's) is kept. The disk store keeps them
 * on this gateway's disk; a store shared by several gateways (a database) keeps the archives
 * where every gateway reads them and materialises each on a gateway's disk when asked for its
 * `directory`.
 */
export interface ReleaseStore {
  /** For logs: where the releases are. */
  readonly description: string;
  /** A local folder for uploads in progress, on the same file system as the releases. */
  readonly scratch: string;
  /** Uploaded releases, newest first. */
  list(): Promise<ReleaseRecord[]>;
  get(version: string): Promise<ReleaseRecord | undefined>;
  /** The folder holding the release's files on this gateway, or undefined when none was uploaded. */
  directory(version: string): Promise<string | undefined>;
  /**
   * Stores a verified archive as `version`, unpacked, all or nothing. The same bytes again are
   * no change (`created: false`); other bytes under a stored version are refused (`exists`).
   */
  add(
    version: string,
    archive: ReceivedArchive,
    limits: ExtractLimits,
  ): Promise<{ record: ReleaseRecord; created: boolean }>;
  remove(version: string): Promise<void>;
}

const META = '.meta';
const SCRATCH = '.incoming';

/**
 * Releases on this gateway's disk: `<root>/<version>/` holds the files, `<root>/.meta/<version>.json`
 * what was uploaded, `<root>/.incoming/` uploads in progress. A release appears by one rename of
 * its unpacked folder (readers see all of it or none) and disappears the same way. Changes are
 * serialised; the dot-folders are never taken for releases.
 */
export class DiskReleaseStore implements ReleaseStore {
  /** Releases on this gateway alone. */
  readonly shared = false;
  readonly scratch: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly root: string) {
    this.scratch = path.join(root, SCRATCH);
  }

  get description(): string {
    return this.root;
  }

  /** Clears what an interrupted upload left behind. */
  async open(): Promise<void> {
    await rm(this.scratch, { recursive: true, force: true });
    await mkdir(this.scratch, { recursive: true, mode: 0o700 });
    await mkdir(path.join(this.root, META), { recursive: true });
  }

  async list(): Promise<ReleaseRecord[]> {
    const names = await readdir(path.join(this.root, META)).catch(() => [] as string[]);
    const records = await Promise.all(
      names.filter((name) => name.endsWith('.json')).map((name) => this.get(name.slice(0, -5))),
    );
    return records
      .filter((record): record is ReleaseRecord => record !== undefined)
      .sort(
        (a, b) =>
          b.uploadedAt.localeCompare(a.uploadedAt) ||
          b.version.localeCompare(a.version, 'en', { numeric: true }),
      );
  }

  async get(version: string): Promise<ReleaseRecord | undefined> {
    const text = await readFile(this.metaFile(version), 'utf8').catch(() => undefined);
    if (text === undefined || !(await isFolder(this.folder(version)))) return undefined;
    try {
      return JSON.parse(text) as ReleaseRecord;
    } catch {
      // A record cut short (a full disk) counts as no upload; its folder still blocks the name.
      return undefined;
    }
  }

  async directory(version: string): Promise<string | undefined> {
    return (await this.get(version)) ? this.folder(version) : undefined;
  }

  add(
    version: string,
    archive: ReceivedArchive,
    limits: ExtractLimits,
  ): Promise<{ record: ReleaseRecord; created: boolean }> {
    return this.serialised(async () => {
      const existing = await this.get(version);
      if (existing?.sha256 === archive.sha256) return { record: existing, created: false };
      if (existing || (await isFolder(this.folder(version))))
        throw new ReleaseError(
          'exists',
          `Release ${version} is already stored with other content${existing ? ` (SHA-256 ${existing.sha256})` : ''}; a version names one build: upload this one under a new version.`,
          existing ? { sha256: existing.sha256 } : undefined,
        );
      const unpacked = path.join(this.scratch, `${randomUUID()}.release`);
      await extractArchive(archive.file, unpacked, limits);
      const record: ReleaseRecord = {
        version,
        size: archive.size,
        sha256: archive.sha256,
        uploadedAt: new Date().toISOString(),
      };
      try {
        await writeAtomically(this.metaFile(version), `${JSON.stringify(record, null, 2)}\n`);
        await rename(unpacked, this.folder(version));
      } catch (error) {
        await rm(this.metaFile(version), { force: true });
        await rm(unpacked, { recursive: true, force: true });
        throw error;
      }
      return { record, created: true };
    });
  }

  remove(version: string): Promise<void> {
    return this.serialised(async () => {
      const doomed = path.join(this.scratch, `${randomUUID()}.removed`);
      await rename(this.folder(version), doomed).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await rm(this.metaFile(version), { force: true });
      await rm(doomed, { recursive: true, force: true });
    });
  }

  private folder(version: string): string {
    return path.join(this.root, version);
  }

  private metaFile(version: string): string {
    return path.join(this.root, META, `${version}.json`);
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

async function isFolder(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isDirectory() === true;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Removes uploaded releases past the `keep` newest, never one in `protect` (what runs, what is
 * about to, what a rollback would go back to). Answers the versions removed.
 */
export async function pruneReleases(
  store: ReleaseStore,
  keep: number,
  protect: ReadonlySet<string>,
): Promise<string[]> {
  const doomed = (await store.list()).slice(keep).filter((record) => !protect.has(record.version));
  for (const record of doomed) await store.remove(record.version);
  return doomed.map((record) => record.version);
}
