import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { HttpError } from './errors.js';
import { redactUrl } from './redact-url.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The RFC 9457 body every error answer carries. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

export function problemBody(
  status: number,
  code: string,
  detail: string | undefined,
  extras: { instance?: string; requestId?: string; details?: Record<string, unknown> } = {},
): ProblemDetails {
  return {
    ...extras.details,
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
    ...(extras.instance === undefined ? {} : { instance: extras.instance }),
    ...(extras.requestId === undefined ? {} : { requestId: extras.requestId }),
  };
}

/** Writes a problem+json answer on a bare node response (used outside Express too). */
export function sendProblem(
  res: ServerResponse,
  body: ProblemDetails,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(body.status, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

/**
 * Writes a complete problem+json answer on a socket that has not been upgraded (a refused
 * WebSocket upgrade, a request Node's parser refused), then closes it both ways.
 */
export function writeRawProblem(
  socket: Duplex,
  status: number,
  code: string,
  detail: string,
  requestId: string,
  instance?: string,
): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(problemBody(status, code, detail, { requestId, instance }));
  // Closed for good once written: a server socket is half-open otherwise (allowHalfOpen), and
  // what the client sends after a refusal must never be read, nor hold a connection slot.
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `cache-control: no-store\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/** Errors thrown by body-parser carry a `type`; these are the client's fault, never a 500. */
const BODY_PARSER_CODES: Record<string, { status: number; code: string; detail: string }> = {
  'entity.parse.failed': {
    status: 400,
    code: 'REQUEST_MALFORMED_JSON',
    detail: 'The request body is not valid JSON.',
  },
  'entity.too.large': {
    status: 413,
    code: 'REQUEST_BODY_TOO_LARGE',
    detail: 'The request body is larger than the limit.',
  },
  'encoding.unsupported': {
    status: 415,
    code: 'REQUEST_UNSUPPORTED_ENCODING',
    detail: 'The request body encoding is not supported.',
  },
  'charset.unsupported': {
    status: 415,
    code: 'REQUEST_UNSUPPORTED_CHARSET',
    detail: 'The request body charset is not supported.',
  },
  'request.aborted': {
    status: 400,
    code: 'REQUEST_ABORTED',
    detail: 'The request was aborted by the client.',
  },
  'request.size.invalid': {
    status: 400,
    code: 'REQUEST_SIZE_MISMATCH',
    detail: 'The request body does not match its Content-Length.',
  },
};

interface ErrorWithStatus {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
  syscall?: unknown;
  path?: unknown;
}

/**
 * A Node system error (fs, net) given a client status by a library, as send does for a file it
 * cannot stat: its message names files or addresses of this machine, so it stays in the log.
 */
function isSystemError(candidate: ErrorWithStatus): boolean {
  return typeof candidate.syscall === 'string' || typeof candidate.path === 'string';
}

/** Maps any thrown value to a problem; only HttpError and known client errors expose a message. */
export function toProblem(error: unknown): {
  status: number;
  code: string;
  detail?: string;
  details?: Record<string, unknown>;
} {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      code: error.code,
      detail: error.message,
      details: error.details,
    };
  }
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as ErrorWithStatus;
  if (candidate.type && BODY_PARSER_CODES[candidate.type]) return BODY_PARSER_CODES[candidate.type];
  const status = candidate.status ?? candidate.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && candidate.expose !== false) {
    return {
      status,
      code: 'REQUEST_INVALID',
      detail: isSystemError(candidate)
        ? `${STATUS_CODES[status] ?? 'Client error'}.`
        : candidate.message,
    };
  }
  return { status: 500, code: 'INTERNAL_ERROR', detail: 'An unexpected error occurred.' };
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new HttpError(404, 'ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}`));
  };
}

/** The single error handler: every failure leaves as problem+json; a 500 never leaks its cause. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = toProblem(error);
    if (problem.status >= 500) {
      logger.error(
        { err: error, requestId: req.id, method: req.method, url: redactUrl(req.originalUrl) },
        'request failed',
      );
    } else if (
      !(error instanceof HttpError) &&
      typeof error === 'object' &&
      error !== null &&
      isSystemError(error as ErrorWithStatus)
    ) {
      logger.warn(
        {
          err: error,
          requestId: req.id,
          method: req.method,
          url: redactUrl(req.originalUrl),
          status: problem.status,
        },
        'request refused by a system error',
      );
    }
    sendProblem(
      res,
      problemBody(problem.status, problem.code, problem.detail, {
        instance: req.originalUrl,
        requestId: req.id,
        details: problem.details,
      }),
    );
  };
}
