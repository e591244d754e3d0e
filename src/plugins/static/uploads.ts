import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import {
  acceptRelease,
  pruneReleases,
  type OpenableReleaseStore,
  type ReleaseCodes,
  type ReleaseLimits,
  type ReleaseRecord,
} from '../../core/releases/index.js';

/** The static plugin's answer to each refused upload. */
export const STATIC_RELEASE_CODES = {
  'media-type': { status: 415, code: 'STATIC_RELEASE_MEDIA_TYPE' },
  'checksum-required': { status: 400, code: 'STATIC_RELEASE_CHECKSUM_REQUIRED' },
  'too-large': { status: 413, code: 'STATIC_RELEASE_TOO_LARGE' },
  'checksum-mismatch': { status: 422, code: 'STATIC_RELEASE_CHECKSUM_MISMATCH' },
  'invalid-archive': { status: 400, code: 'STATIC_RELEASE_INVALID_ARCHIVE' },
  'unsafe-entry': { status: 422, code: 'STATIC_RELEASE_UNSAFE_ENTRY' },
  exists: { status: 409, code: 'STATIC_RELEASE_EXISTS' },
} as const satisfies ReleaseCodes;

export interface StaticUpload extends ReleaseRecord {
  /** False when the same bytes were already stored under that name. */
  created: boolean;
  /** Older uploads removed by the retention count. */
  pruned: string[];
}

/**
 * Frontend releases uploaded into the releases folder (`<root>/<version>/`, beside folders put
 * there by hand, which retention never touches), or into the shared database; kept to
 * `uploads.keep`.
 */
export class StaticUploads {
  /** Opened on the first upload: a releases folder nobody uploads to may stay read-only. */
  private opened?: Promise<void>;

  constructor(
    private readonly store: OpenableReleaseStore,
    private readonly limits: ReleaseLimits,
    /** The active release and the rollback target: never pruned. */
    private readonly inUse: () => Promise<(string | undefined)[]>,
    private readonly logger: Logger,
  ) {}

  async records(): Promise<Map<string, ReleaseRecord>> {
    return new Map((await this.store.list()).map((record) => [record.version, record]));
  }

  async upload(req: IncomingMessage, version: string): Promise<StaticUpload> {
    await (this.opened ??= this.store.open());
    const { record, created } = await acceptRelease(req, this.store, version, this.limits);
    const protect = new Set(
      (await this.inUse()).filter((name): name is string => name !== undefined),
    );
    const pruned = await pruneReleases(this.store, this.limits.keep, protect);
    if (this.store.shared) await this.store.sweep(protect);
    this.logger.info(
      { version, size: record.size, sha256: record.sha256, created, pruned },
      created ? 'frontend release uploaded' : 'frontend release upload matched the stored one',
    );
    return { ...record, created, pruned };
  }
}
