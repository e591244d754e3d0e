import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { errorMessage, HttpError } from '../../core/errors.js';
import { CorruptReleaseError, type DatabaseReleaseStore } from '../../core/releases/index.js';
import type { ActiveState, SharedActive } from './active.js';
import { readCurrent, RELEASE_NAME, releaseNames, type StaticRelease } from './releases.js';
import type { Site } from './site.js';

/**
 * The active frontend release when releases live in the shared database: the choice is the
 * database's (`SharedActive`), the files each gateway's own copy (materialised by the store on
 * first need). An activation or rollback through any gateway changes the row and notifies; every
 * gateway then materialises the release, checks it, and swaps its site, so requests in flight
 * finish on the release they started with. A release that fails to materialise here keeps the
 * one served before (logged) until the next change. Same surface as `ReleaseSet`.
 */
export class SharedReleaseSet {
  private site: Site | undefined;
  private state: ActiveState = { revision: -1 };
  private queue: Promise<unknown> = Promise.resolve();
  private reloading: Promise<void> | undefined;
  private again = false;

  constructor(
    /** The releases folder: its own folders are served only until an upload is activated. */
    private readonly root: string,
    private readonly store: DatabaseReleaseStore,
    private readonly shared: SharedActive,
    private readonly index: string | false,
    private readonly createSite: (dir: string, version: string) => Site,
    private readonly logger: Logger,
    private readonly onActivated: (version: string, previous: string | undefined) => void,
    private readonly pollInterval: number,
  ) {}

  /**
   * Takes the database's choice, then follows the changes other gateways make. Until a choice is
   * made (a gateway moving to the shared store), it serves `preferred` if it was uploaded, else
   * what the releases folder chose before (its `current` file, `preferred`, the highest version
   * put there by hand), on this gateway alone: the database is not written.
   */
  async start(preferred: string | undefined): Promise<void> {
    const mode = await this.shared.follow(
      () => this.state.revision,
      () => void this.reload(),
      this.pollInterval,
    );
    await this.reload();
    if (!this.site && preferred && (await this.store.get(preferred))) {
      const dir = await this.store.directory(preferred);
      if (dir) this.site = this.createSite(dir, preferred);
    }
    if (!this.site) {
      const names = await releaseNames(this.root);
      const version = [await readCurrent(this.root), preferred, names.at(-1)].find(
        (name) => name !== undefined && names.includes(name),
      );
      if (version) {
        this.site = this.createSite(path.join(this.root, version), version);
        this.logger.warn(
          { version, root: this.root },
          'serving a release of the releases folder until one uploaded is activated: other gateways do not share it',
        );
      }
    }
    this.logger.info(
      { version: this.site?.version, follow: mode, store: this.store.description },
      this.site ? 'static release active' : 'no release to serve yet',
    );
  }

  stop(): Promise<void> {
    return this.shared.stop();
  }

  current(): Site | undefined {
    return this.site;
  }

  rollbackTarget(): string | undefined {
    return this.state.previous;
  }

  /** Reads the database's choice and serves it; calls made meanwhile read once more after. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    const run = async () => {
      do {
        this.again = false;
        const state = await this.shared.read();
        if (state.revision > this.state.revision) await this.serve(state);
      } while (this.again);
    };
    this.reloading = run()
      .catch((error: unknown) =>
        this.logger.error(
          { error: errorMessage(error) },
          'active frontend release not followed; serving the one before',
        ),
      )
      .finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  async list(): Promise<StaticRelease[]> {
    return (await this.store.list()).map((record) => ({
      version: record.version,
      active: record.version === this.site?.version,
      previous: record.version === this.state.previous,
      modifiedAt: record.uploadedAt,
      size: record.size,
      sha256: record.sha256,
      uploadedAt: record.uploadedAt,
    }));
  }

  activate(version: string): Promise<{ active: string; previous?: string }> {
    return this.serialised(async () => {
      if (typeof version !== 'string' || !RELEASE_NAME.test(version))
        throw new HttpError(
          400,
          'STATIC_RELEASE_INVALID',
          `"${String(version).slice(0, 64)}" is not a release name (letters, digits, ".", "_", "-").`,
        );
      // Materialised and checked here first: a release this gateway cannot serve is not chosen.
      await this.filesOf(version);
      return this.commit(async (state) => ({
        active: version,
        previous:
          state.active !== undefined && state.active !== version ? state.active : state.previous,
      }));
    });
  }

  rollback(): Promise<{ active: string; previous?: string }> {
    return this.serialised(async () => {
      const target = (await this.shared.read()).previous;
      const missing =
        target === undefined || target === this.state.active
          ? 'No earlier release was active: there is nothing to roll back to.'
          : (await this.store.get(target)) === undefined
            ? `The release active before, "${target}", is no longer stored.`
            : undefined;
      if (missing) throw new HttpError(409, 'STATIC_NO_PREVIOUS', missing);
      await this.filesOf(target!);
      return this.commit(async (state) => {
        // Another gateway changed the choice meanwhile: roll back from what it chose.
        if (state.previous !== target || state.active === undefined)
          throw new HttpError(
            409,
            'STATIC_NO_PREVIOUS',
            'The active release changed while rolling back; look again and retry.',
          );
        return { active: target!, previous: state.active };
      });
    });
  }

  /** Writes the choice, then serves it here at once (the others are notified at commit). */
  private async commit(
    decide: (state: ActiveState) => Promise<{ active: string; previous?: string }>,
  ): Promise<{ active: string; previous?: string }> {
    const before = this.site?.version;
    const state = await this.shared.change(decide);
    await this.serve(state);
    this.logger.info({ version: state.active, previous: before }, 'static release activated');
    return { active: state.active!, ...(state.previous ? { previous: state.previous } : {}) };
  }

  private async serve(state: ActiveState): Promise<void> {
    if (state.revision <= this.state.revision) return;
    const version = state.active;
    // A folder put there by hand may bear the name of the upload that replaces it.
    const changed =
      version !== undefined && (version !== this.state.active || version !== this.site?.version);
    if (changed) {
      const dir = await this.filesOf(version);
      // A newer choice was served while this one was materialising: it stands.
      if (state.revision <= this.state.revision) return;
      this.site = this.createSite(dir, version);
    }
    this.state = state;
    if (changed) {
      this.onActivated(version, state.previous);
      // Folders of releases pruned through another gateway go, never the two in use.
      const keep = new Set([version, state.previous].filter((name) => name !== undefined));
      void this.store
        .sweep(keep)
        .catch((error: unknown) =>
          this.logger.warn({ error: errorMessage(error) }, 'stale frontend releases not removed'),
        );
    }
  }

  /** The release's folder on this gateway, materialised if need be; 404/409 as on disk. */
  private async filesOf(version: string): Promise<string> {
    const dir = await this.store.directory(version).catch((error: unknown) => {
      if (!(error instanceof CorruptReleaseError)) throw error;
      throw new HttpError(
        409,
        'STATIC_RELEASE_CORRUPT',
        `Release "${version}" no longer reads back from the database as it was uploaded; upload the build again under a new version.`,
        { cause: error },
      );
    });
    if (dir === undefined)
      throw new HttpError(
        404,
        'STATIC_RELEASE_NOT_FOUND',
        `No release "${version}" was uploaded.`,
        {
          details: { available: (await this.store.list()).map((record) => record.version) },
        },
      );
    if (this.index && !(await stat(path.join(dir, this.index)).catch(() => undefined))?.isFile())
      throw new HttpError(
        409,
        'STATIC_RELEASE_INCOMPLETE',
        `Release "${version}" has no ${this.index}; it would serve nothing.`,
      );
    return dir;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
