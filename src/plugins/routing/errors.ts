import type { ErrorCodeTable } from '../../core/errors.js';

/**
 * Every code the routing plugin answers with, its HTTP status and what it means; `docs/error-codes.md`
 * is generated from this table and a test keeps both in step with the code.
 */
export const ROUTING_ERRORS = {
  ROUTING_BODY_INCOMPLETE: {
    status: 400,
    meaning: 'The request body did not match its Content-Length while it was proxied.',
  },
  ROUTING_EDGE_FAILED: {
    status: 500,
    meaning: 'An edge hook threw while the gateway handled the request.',
  },
  ROUTING_INVALID_PATH: {
    status: 400,
    meaning: 'The request path is ambiguous (encoded separators, dot segments past the root).',
  },
  ROUTING_INVALID_TARGET: {
    status: 400,
    meaning: 'A route switch named a target that is not an http(s) URL without query or fragment.',
  },
  ROUTING_ORIGIN_FORBIDDEN: {
    status: 403,
    meaning: "A WebSocket upgrade came from an origin the route's CORS does not allow.",
  },
  ROUTING_ROUTE_NOT_FOUND: {
    status: 404,
    meaning: 'A route switch named a proxy route that does not exist.',
  },
  ROUTING_UPSTREAM_TIMEOUT: {
    status: 504,
    meaning: "The upstream did not answer within the route's timeout.",
  },
  ROUTING_UPSTREAM_UNAVAILABLE: {
    status: 502,
    meaning: 'The upstream refused the connection or failed.',
  },
} as const satisfies ErrorCodeTable;
