import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the traffic plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const TRAFFIC_ERRORS = {
  TRAFFIC_CAPROVER_AUTH_FAILED: {
    status: 502,
    meaning:
      'CapRover refused the gateway: a wrong password, or a token it no longer accepts with no password to log in again.',
  },
  TRAFFIC_CAPROVER_DEPLOY_FAILED: {
    status: 502,
    meaning:
      "CapRover could not deploy the release's image (the build log's last lines say why), or not within deployTimeout.",
  },
  TRAFFIC_CAPROVER_ERROR: {
    status: 502,
    meaning: 'CapRover answered a call with an error status; its description is in the message.',
  },
  TRAFFIC_CAPROVER_UNREACHABLE: {
    status: 502,
    meaning: 'CapRover did not answer at orchestrator.url (down, wrong address, or too slow).',
  },
  TRAFFIC_COMMAND_FAILED: {
    status: 500,
    meaning:
      'The gateway that drives the orchestrator failed while carrying out a command another gateway forwarded to it.',
  },
  TRAFFIC_COMMAND_INTERRUPTED: {
    status: 503,
    meaning:
      'The gateway carrying out a forwarded command stopped before answering; the status shows whether it took effect.',
  },
  TRAFFIC_DEPLOY_IN_PROGRESS: {
    status: 409,
    meaning: 'A release is already starting or a candidate; promote or abort it first.',
  },
  TRAFFIC_FIRST_RELEASE: {
    status: 409,
    meaning:
      'A first release becomes active by itself once healthy; there is nothing to promote it over.',
  },
  TRAFFIC_DEV_SERVICE: {
    status: 400,
    meaning: 'Promotion was asked of a dev service, whose releases take traffic once healthy.',
  },
  TRAFFIC_INVALID_REQUEST: {
    status: 400,
    meaning: 'The body or query of a traffic API call is malformed.',
  },
  TRAFFIC_NOTHING_TO_ABORT: {
    status: 409,
    meaning: 'The service has no starting or candidate release to abort.',
  },
  TRAFFIC_NOT_HEALTHY: {
    status: 409,
    meaning: 'The candidate has not passed the health checks promotion needs.',
  },
  TRAFFIC_NO_ACTIVE_RELEASE: {
    status: 503,
    meaning:
      'The service has no active release yet (one is starting, failed, or none is deployed); the route sends nothing anywhere.',
  },
  TRAFFIC_NO_LEADER: {
    status: 503,
    meaning:
      'Gateways share the traffic state and none drives the orchestrator right now (the lock is changing hands); retry shortly.',
  },
  TRAFFIC_NO_CANDIDATE: {
    status: 409,
    meaning: 'The service has no candidate to promote; deploy a version first.',
  },
  TRAFFIC_NO_FREE_SLOT: {
    status: 409,
    meaning: 'Every slot is in use (one may hold the rollback target until its window ends).',
  },
  TRAFFIC_NO_PREVIOUS: {
    status: 409,
    meaning: 'The service has no previous release inside its rollback window.',
  },
  TRAFFIC_SERVICE_NOT_FOUND: { status: 404, meaning: 'No traffic service has that name.' },
  TRAFFIC_SERVICE_REQUIRED: {
    status: 400,
    meaning: 'The gateway runs several services and the call did not name one.',
  },
  TRAFFIC_SERVICE_WAKING: {
    status: 503,
    meaning: 'A dev service is starting on this request; `Retry-After` says when to try again.',
  },
  TRAFFIC_SLOT_NOT_FOUND: { status: 404, meaning: 'The service has no slot of that name.' },
  TRAFFIC_RELEASE_CHECKSUM_MISMATCH: {
    status: 422,
    meaning:
      "An uploaded release's SHA-256 is not the one its x-release-sha256 header announced; nothing was stored.",
  },
  TRAFFIC_RELEASE_CHECKSUM_REQUIRED: {
    status: 400,
    meaning: 'A release upload carries no SHA-256 (hex) in its x-release-sha256 header.',
  },
  TRAFFIC_RELEASE_EXISTS: {
    status: 409,
    meaning: 'That version of the service is already stored with other content; use a new version.',
  },
  TRAFFIC_RELEASE_INVALID_ARCHIVE: {
    status: 400,
    meaning: 'A release upload is not a readable tarball, holds no files, or ended early.',
  },
  TRAFFIC_RELEASE_MEDIA_TYPE: {
    status: 415,
    meaning: 'A release upload is not sent as application/gzip (or application/octet-stream).',
  },
  TRAFFIC_RELEASE_TOO_LARGE: {
    status: 413,
    meaning:
      'A release upload is larger than releases.maxBytes, or unpacks to more than releases.maxUnpackedBytes or maxEntries.',
  },
  TRAFFIC_RELEASE_UNSAFE_ENTRY: {
    status: 422,
    meaning:
      'A release archive holds an absolute path, a ".." escape, a link pointing outside it, a device file or a FIFO; nothing was stored.',
  },
  TRAFFIC_RELEASES_UNSUPPORTED: {
    status: 409,
    meaning:
      'Releases are uploaded for the process orchestrator only; container orchestrators deploy images.',
  },
  TRAFFIC_STOPPING: {
    status: 503,
    meaning: 'The gateway is stopping and takes no new transitions.',
  },
  TRAFFIC_WAKE_FAILED: {
    status: 502,
    meaning: 'A dev service started but did not answer the request that woke it.',
  },
} as const satisfies ErrorCodeTable;
