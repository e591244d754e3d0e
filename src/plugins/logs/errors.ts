import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the logs plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const LOGS_ERRORS = {
  LOGS_CURSOR_EXPIRED: {
    status: 410,
    meaning:
      'The log file a cursor points into was rotated away or replaced; start again without a cursor.',
  },
  LOGS_FILE_NOT_CONFIGURED: {
    status: 404,
    meaning: 'The app writes no log file, so there is nothing to read or follow.',
  },
  LOGS_INVALID_QUERY: {
    status: 400,
    meaning: 'A query parameter of `GET /api/logs` is unknown or malformed.',
  },
  LOGS_SESSION_ENDED: {
    status: 401,
    meaning: 'The session a log stream was opened with ended (logout, expiry, revocation).',
  },
  LOGS_STREAM_CLOSED: {
    status: 503,
    meaning: 'The log stream closed while opening (the app is stopping); reconnect.',
  },
  LOGS_TOO_MANY_STREAMS: {
    status: 503,
    meaning: 'The most log streams open at once (`maxStreamClients`) are already open.',
  },
} as const satisfies ErrorCodeTable;
