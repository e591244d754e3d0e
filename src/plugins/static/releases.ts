import { randomUUID } from 'node:crypto';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { Site } from './site.js';

/** The file in the releases folder naming the active release, so a restart keeps it. */
export const CURRENT_FILE = 'current';
/** The file naming the release active before it: what a rollback goes back to. */
export const PREVIOUS_FILE = 'previous';
export const RELEASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface StaticRelease {
  version: string;
  active: boolean;
  /** The release a rollback goes back to. */
  previous: boolean;
  /** When the release folder last changed (ISO 8601). */
  modifiedAt: string;
  /** Uploaded releases: the archive's bytes, its SHA-256 and when it was stored. */
  size?: number;
  sha256?: string;
  uploadedAt?: string;
}

/** Version names in natural order: `v9` before `v10`, `1.2.0` before `1.10.0`. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}

async function exists(file: string, kind: 'file' | 'directory'): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return kind === 'file' ? info?.isFile() === true : info?.isDirectory() === true;
}

/** Release folders: directories not starting with a dot. */
export async function releaseNames(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory() && RELEASE_NAME.test(entry.name))
    .map((entry) => entry.name)
    .sort(compareVersions);
}

/**
 * A releases folder has a `current` file, or no index of its own but at least one
 * `<version>/<index>`; anything else is served as a plain folder.
 */
export async function looksLikeReleases(root: string, index: string | false): Promise<boolean> {
  if (await exists(path.join(root, CURRENT_FILE), 'file')) return true;
  if (!index || (await exists(path.join(root, index), 'file'))) return false;
  for (const name of await releaseNames(root))
    if (await exists(path.join(root, name, index), 'file')) return true;
  return false;
}

export async function readCurrent(
  root: string,
  file: string = CURRENT_FILE,
): Promise<string | undefined> {
  const text = await readFile(path.join(root, file), 'utf8').catch(() => undefined);
  const version = text?.trim();
  return version && RELEASE_NAME.test(version) ? version : undefined;
}

/** Write a temporary file, flush it, then rename: readers see the old name or the new, never half. */
async function writeCurrent(root: string, version: string, file = CURRENT_FILE): Promise<void> {
  const temporary = path.join(root, `.${file}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(`${version}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path.join(root, file));
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    // The cause (logged with the 500) names the file; the answer does not.
    throw new HttpError(
      500,
      'STATIC_RELEASE_PERSIST_FAILED',
      `Could not record the ${file === CURRENT_FILE ? 'active' : 'previous'} release in the "${file}" file of the releases folder.`,
      { cause: error },
    );
  }
}

/**
 * Holds the active release of a releases folder. Activation is one reference swap after the
 * choice is on disk; activations are serialised so the file and the reference always agree.
 */
export class ReleaseSet {
  private active: Site | undefined;
  private previous: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly root: string,
    private readonly index: string | false,
    private readonly createSite: (dir: string, version: string) => Site,
    private readonly logger: Logger,
    private readonly onActivated: (version: string, previous: string | undefined) => void,
  ) {}

  /** Picks the starting release: the `current` file, else `preferred`, else the highest version. */
  async start(preferred: string | undefined): Promise<void> {
    const names = await releaseNames(this.root);
    const recorded = await readCurrent(this.root);
    this.previous = await readCurrent(this.root, PREVIOUS_FILE);
    if (recorded && !names.includes(recorded))
      this.logger.warn(
        { version: recorded, root: this.root },
        'recorded release is missing; choosing another',
      );
    const version = [recorded, preferred, names.at(-1)].find(
      (name) => name !== undefined && names.includes(name),
    );
    if (!version) {
      this.logger.warn(
        { root: this.root },
        'no release to serve yet; requests fall through until one is activated',
      );
      return;
    }
    this.active = this.createSite(path.join(this.root, version), version);
    this.logger.info({ version, root: this.root }, 'static release active');
  }

  current(): Site | undefined {
    return this.active;
  }

  /** The release a rollback would make active again. */
  rollbackTarget(): string | undefined {
    return this.previous;
  }

  async list(): Promise<StaticRelease[]> {
    const names = await releaseNames(this.root);
    return Promise.all(
      names.map(async (version) => {
        const info = await stat(path.join(this.root, version)).catch(() => undefined);
        return {
          version,
          active: version === this.active?.version,
          previous: version === this.previous,
          modifiedAt: (info?.mtime ?? new Date(0)).toISOString(),
        };
      }),
    );
  }

  activate(version: string): Promise<{ active: string; previous?: string }> {
    return this.serialised(() => this.switchTo(version));
  }

  /** Makes the release active before this one active again (and this one the rollback target). */
  rollback(): Promise<{ active: string; previous?: string }> {
    return this.serialised(async () => {
      const target = this.previous;
      const present = target !== undefined && (await releaseNames(this.root)).includes(target);
      if (!present || target === this.active?.version)
        throw new HttpError(
          409,
          'STATIC_NO_PREVIOUS',
          target === undefined || target === this.active?.version
            ? 'No earlier release was active: there is nothing to roll back to.'
            : `The release active before, "${target}", is no longer in the releases folder.`,
        );
      return this.switchTo(target);
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async switchTo(version: string): Promise<{ active: string; previous?: string }> {
    if (typeof version !== 'string' || !RELEASE_NAME.test(version)) {
      throw new HttpError(
        400,
        'STATIC_RELEASE_INVALID',
        `"${String(version).slice(0, 64)}" is not a release name (letters, digits, ".", "_", "-").`,
      );
    }
    const dir = path.join(this.root, version);
    if (!(await exists(dir, 'directory'))) {
      throw new HttpError(
        404,
        'STATIC_RELEASE_NOT_FOUND',
        `No release "${version}" in the releases folder.`,
        { details: { available: await releaseNames(this.root) } },
      );
    }
    if (this.index && !(await exists(path.join(dir, this.index), 'file'))) {
      throw new HttpError(
        409,
        'STATIC_RELEASE_INCOMPLETE',
        `Release "${version}" has no ${this.index}; it would serve nothing.`,
      );
    }
    const previous = this.active?.version;
    // The rollback target first: a crash between the two writes leaves a rollback that changes nothing.
    if (previous !== undefined && previous !== version) {
      await writeCurrent(this.root, previous, PREVIOUS_FILE);
      this.previous = previous;
    }
    await writeCurrent(this.root, version);
    this.active = this.createSite(dir, version);
    this.logger.info({ version, previous }, 'static release activated');
    this.onActivated(version, previous);
    return { active: version, previous };
  }
}
