import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { ReleaseLimits } from './options.js';
import type { ReleaseRecord, ReleaseStore } from './store.js';
import { receiveArchive } from './upload.js';

export {
  CorruptReleaseError,
  ReleaseError,
  releaseHttpError,
  type ReleaseCodes,
  type ReleaseProblem,
} from './error.js';
export type { DatabaseReleaseStore } from './db-store.js';
export { chooseReleaseStore, sharedDatabase, type OpenableReleaseStore } from './open.js';
export { ACTIVE_TABLE, releaseMigrations } from './schema.js';
export { entryProblem, extractArchive, type ExtractLimits } from './extract.js';
export { releaseLimitsShape, type ReleaseLimits } from './options.js';
export { DiskReleaseStore, pruneReleases, type ReleaseRecord, type ReleaseStore } from './store.js';
export { CHECKSUM_HEADER, receiveArchive, type ReceivedArchive } from './upload.js';

/**
 * Takes one release upload from the request into the store: streamed to a temporary file within
 * `maxBytes`, checked against its checksum, unpacked safely and moved into place at once.
 */
export async function acceptRelease(
  req: IncomingMessage,
  store: ReleaseStore,
  version: string,
  limits: ReleaseLimits,
): Promise<{ record: ReleaseRecord; created: boolean }> {
  const archive = await receiveArchive(req, {
    directory: store.scratch,
    maxBytes: limits.maxBytes,
  });
  try {
    return await store.add(version, archive, limits);
  } finally {
    await rm(archive.file, { force: true });
  }
}
