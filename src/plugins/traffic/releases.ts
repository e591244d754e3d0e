import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.js';
import type { Database } from '../database/index.js';
import {
  acceptRelease,
  chooseReleaseStore,
  pruneReleases,
  type OpenableReleaseStore,
  type ReleaseCodes,
  type ReleaseLimits,
  type ReleaseRecord,
} from '../../core/releases/index.js';
import type { Orchestrator, ReleaseSpec } from './orchestrators/types.js';
import { LIVE_STATES } from './state.js';

/** The traffic plugin's answer to each refused upload. */
export const TRAFFIC_RELEASE_CODES = {
  'media-type': { status: 415, code: 'TRAFFIC_RELEASE_MEDIA_TYPE' },
  'checksum-required': { status: 400, code: 'TRAFFIC_RELEASE_CHECKSUM_REQUIRED' },
  'too-large': { status: 413, code: 'TRAFFIC_RELEASE_TOO_LARGE' },
  'checksum-mismatch': { status: 422, code: 'TRAFFIC_RELEASE_CHECKSUM_MISMATCH' },
  'invalid-archive': { status: 400, code: 'TRAFFIC_RELEASE_INVALID_ARCHIVE' },
  'unsafe-entry': { status: 422, code: 'TRAFFIC_RELEASE_UNSAFE_ENTRY' },
  exists: { status: 409, code: 'TRAFFIC_RELEASE_EXISTS' },
} as const satisfies ReleaseCodes;

export interface ReleaseUpload extends ReleaseRecord {
  service: string;
  /** False when the same bytes were already stored under that version. */
  created: boolean;
  /** Older releases removed by the retention count. */
  pruned: string[];
}

/**
 * Each service's uploaded releases, one store per service, kept to the retention count: on this
 * gateway's disk (`<path>/<service>/<version>/`), or in the shared database (scope
 * `service:<name>`) with each gateway materialising a version under `<path>/<service>/.shared/`
 * when a slot starts it. `inUse` answers the versions of a service's live slots, never pruned.
 */
export class TrafficReleases {
  private readonly stores = new Map<string, OpenableReleaseStore>();
  /** Each store is opened on its first upload: a gateway nobody uploads to writes nothing. */
  private readonly opened = new Map<string, Promise<void>>();

  constructor(
    private readonly root: string,
    private readonly services: readonly string[],
    private readonly limits: ReleaseLimits,
    private readonly inUse: (service: string) => string[],
    private readonly logger: Logger,
  ) {}

  /** Chooses each service's store (`releases.store`); the database plugin, when present, is open. */
  async choose(database: Database | undefined): Promise<void> {
    for (const service of this.services)
      this.stores.set(
        service,
        await chooseReleaseStore({
          limits: this.limits,
          database,
          scope: `service:${service}`,
          root: path.resolve(this.root, service),
          option: 'plugins.traffic.releases.store',
        }),
      );
    const shared = this.stores.values().next().value?.shared === true;
    this.logger.info(
      { store: shared ? 'database' : 'disk', path: path.resolve(this.root) },
      'service releases kept',
    );
  }

  list(service: string): Promise<ReleaseRecord[]> {
    return this.store(service).list();
  }

  /** The folder of an uploaded release, or undefined when that version was never uploaded. */
  async directory(service: string, version: string): Promise<string | undefined> {
    const store = this.store(service);
    const directory = await store.directory(version);
    // A slot starts: copies here of releases pruned through another gateway, not running, go.
    if (store.shared)
      void store
        .sweep(new Set([...this.inUse(service), version]))
        .catch((error: unknown) =>
          this.logger.warn({ service, error: errorMessage(error) }, 'stale releases not removed'),
        );
    return directory;
  }

  async upload(req: IncomingMessage, service: string, version: string): Promise<ReleaseUpload> {
    const store = this.store(service);
    if (!this.opened.has(service)) this.opened.set(service, store.open());
    await this.opened.get(service);
    const { record, created } = await acceptRelease(req, store, version, this.limits);
    const kept = new Set(this.inUse(service));
    const pruned = await pruneReleases(store, this.limits.keep, kept);
    // Folders materialised here of releases pruned through another gateway go too.
    if (store.shared) await store.sweep(kept);
    this.logger.info(
      { service, version, size: record.size, sha256: record.sha256, created, pruned },
      created ? 'release uploaded' : 'release upload matched the stored one',
    );
    return { service, ...record, created, pruned };
  }

  private store(service: string): OpenableReleaseStore {
    const store = this.stores.get(service);
    if (!store) throw new Error(`No release store for ${service}.`);
    return store;
  }
}

/** The versions of a service's slots that must stay on disk. */
export function keptVersions(slots: readonly { state: string; version?: string }[]): string[] {
  return slots
    .filter((slot) => LIVE_STATES.has(slot.state) && slot.version !== undefined)
    .map((slot) => slot.version!);
}

/**
 * The orchestrator, with each start told where the version's uploaded release is (when it was
 * uploaded), so a restart after a crash runs the same files as the first start.
 */
export function withReleases(
  orchestrator: Orchestrator,
  releases: TrafficReleases,
  required: boolean,
): Orchestrator {
  return {
    get type() {
      return orchestrator.type;
    },
    async start(release: ReleaseSpec) {
      const directory = await releases.directory(release.service, release.version);
      if (directory === undefined && required)
        throw new Error(
          `no uploaded release of ${release.service} ${release.version} (releases.required is set): upload it with qwickapps release ${release.service} ${release.version} <dir>`,
        );
      return orchestrator.start(directory === undefined ? release : { ...release, directory });
    },
    stop: (ref) => orchestrator.stop(ref),
    status: (ref) => orchestrator.status(ref),
    logs: (ref, limit) => orchestrator.logs(ref, limit),
    ...(orchestrator.activate ? { activate: (ref) => orchestrator.activate!(ref) } : {}),
    onExit: (listener) => orchestrator.onExit(listener),
    close: () => orchestrator.close(),
  };
}
