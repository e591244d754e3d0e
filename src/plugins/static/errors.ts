import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the static plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const STATIC_ERRORS = {
  STATIC_PATH_INVALID: {
    status: 400,
    meaning: 'The path cannot be served: traversal, encoded separators, NUL bytes.',
  },
  STATIC_RELEASES_DISABLED: {
    status: 409,
    meaning: 'A release was asked of a site served as one folder (`releases` is false).',
  },
  STATIC_NO_PREVIOUS: {
    status: 409,
    meaning: 'A rollback was asked with no earlier active release left to go back to.',
  },
  STATIC_RELEASE_CHECKSUM_MISMATCH: {
    status: 422,
    meaning:
      "An uploaded release's SHA-256 is not the one its x-release-sha256 header announced; nothing was stored.",
  },
  STATIC_RELEASE_CHECKSUM_REQUIRED: {
    status: 400,
    meaning: 'A release upload carries no SHA-256 (hex) in its x-release-sha256 header.',
  },
  STATIC_RELEASE_CORRUPT: {
    status: 409,
    meaning:
      "A release's archive, read back from the shared database, no longer matches the size and SHA-256 it was uploaded with; upload the build again under a new version.",
  },
  STATIC_RELEASE_EXISTS: {
    status: 409,
    meaning: 'A release of that name is already stored with other content; use a new name.',
  },
  STATIC_RELEASE_INVALID_ARCHIVE: {
    status: 400,
    meaning: 'A release upload is not a readable tarball, holds no files, or ended early.',
  },
  STATIC_RELEASE_MEDIA_TYPE: {
    status: 415,
    meaning: 'A release upload is not sent as application/gzip (or application/octet-stream).',
  },
  STATIC_RELEASE_TOO_LARGE: {
    status: 413,
    meaning:
      'A release upload is larger than uploads.maxBytes, or unpacks to more than uploads.maxUnpackedBytes or maxEntries.',
  },
  STATIC_RELEASE_UNSAFE_ENTRY: {
    status: 422,
    meaning:
      'A release archive holds an absolute path, a ".." escape, a link pointing outside it, a device file or a FIFO; nothing was stored.',
  },
  STATIC_RELEASE_INCOMPLETE: {
    status: 409,
    meaning: 'A release has no index file; activating it would serve nothing.',
  },
  STATIC_RELEASE_INVALID: {
    status: 400,
    meaning: 'A release name is not letters, digits, ".", "_" and "-".',
  },
  STATIC_RELEASE_NOT_FOUND: {
    status: 404,
    meaning: 'No release of that name in the releases folder.',
  },
  STATIC_RELEASE_PERSIST_FAILED: {
    status: 500,
    meaning: 'The active release could not be recorded in the releases folder.',
  },
} as const satisfies ErrorCodeTable;
