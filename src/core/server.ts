import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RawHandler, UpgradeHandler } from './context.js';
import { ConnectionsPerAddress, throttledWarning } from './connection-limits.js';
import { problemBody, sendProblem, writeRawProblem } from './problem.js';
import { redactUrl } from './redact-url.js';
import { requestHeadProblem, type HeadProblem } from './request-head.js';
import { logWhenDone, requestIdOf, requestLoggers } from './request-log.js';

/**
 * Limits of the node:http server, chosen for a server on the internet. Times in milliseconds.
 * Node applies `headersTimeout` from the moment a connection is accepted (and, on a kept-alive
 * connection, from the first byte of the next request), so it also closes a connection that
 * sends nothing at all; `connectionsCheckingInterval` is how often those two timeouts are checked.
 */
export interface ServerOptions {
  /** How long a kept-alive connection may sit idle between requests. Default 5 000. */
  keepAliveTimeout?: number;
  /** How long a client has to send a complete request head; slow or silent clients are cut (408). Default 10 000. */
  headersTimeout?: number;
  /** How long a client has to send a whole request, body included. Default 300 000. */
  requestTimeout?: number;
  /** How often headersTimeout and requestTimeout are enforced (Node's default is 30 000). Default 1 000. */
  connectionsCheckingInterval?: number;
  /** Open connections the server accepts in all; more are closed at accept. Default 10 000. */
  maxConnections?: number;
  /**
   * Open connections one client address may hold (IPv6: one /64); more are closed at accept.
   * Raise it behind a load balancer that connects from few addresses. Default 256.
   */
  maxConnectionsPerAddress?: number;
}

export const SERVER_DEFAULTS: Readonly<Required<ServerOptions>> = {
  keepAliveTimeout: 5_000,
  headersTimeout: 10_000,
  requestTimeout: 300_000,
  connectionsCheckingInterval: 1_000,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 256,
};

/** The answer to a request Node's HTTP parser refused, by the parser's error code and reason. */
function parserProblem(error: NodeJS.ErrnoException & { reason?: string }): {
  status: number;
  code: string;
  detail: string;
} {
  // llhttp's reasons are fixed phrases ("Invalid header value char"), never request bytes.
  const reason = typeof error.reason === 'string' ? `: ${error.reason}` : '';
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'REQUEST_HEADERS_TOO_LARGE',
        detail: 'The request head is larger than the server accepts.',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'REQUEST_TIMEOUT',
        detail: 'The request did not arrive in time.',
      };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return {
        status: 400,
        code: 'REQUEST_AMBIGUOUS_FRAMING',
        detail: `The request framing is ambiguous${reason}.`,
      };
    default:
      return {
        status: 400,
        code: 'REQUEST_MALFORMED',
        detail: `The request is not valid HTTP/1.1${reason}.`,
      };
  }
}

/**
 * The app's node:http server: raw handlers see each request before Express, upgrade handlers
 * claim WebSocket upgrades, and `drain()` stops it gracefully.
 */
export function createHttpServer(options: {
  dispatch: http.RequestListener;
  rawHandlers: readonly RawHandler[];
  upgradeHandlers: readonly UpgradeHandler[];
  isStopping: () => boolean;
  /** Where refused requests are logged (the app logger). */
  logger: Logger;
  /** The client's address under the app's trustProxy, for those lines. */
  clientOf?: (req: http.IncomingMessage) => string;
  limits?: ServerOptions;
}): { server: http.Server; drain(timeout: number, logger: Logger): Promise<void> } {
  const { dispatch, rawHandlers, upgradeHandlers, isStopping, logger } = options;
  const limits = { ...SERVER_DEFAULTS, ...options.limits };
  const requestLog = requestLoggers(logger, options.clientOf);
  const server = http.createServer(
    // A missing Host is refused by `requestHeadProblem`, as problem+json like every refusal.
    { connectionsCheckingInterval: limits.connectionsCheckingInterval, requireHostHeader: false },
    (req, res) => {
      // Once stopping, tell keep-alive clients to leave now instead of being cut by the drain.
      if (isStopping()) res.shouldKeepAlive = false;
      // Here, before any handler, so Express routes, raw handlers and upgrades refuse alike.
      const problem = requestHeadProblem(req);
      if (problem) return refuseRequest(req, res, problem);
      for (let index = 0; index < rawHandlers.length; index++)
        if (rawHandlers[index](req, res)) return;
      dispatch(req, res);
    },
  );

  // Every open socket, so a drain can close those that carry no request, including ones opened
  // speculatively by clients that never sent a request (closeIdleConnections skips those). Node
  // attaches the response in progress to its socket (`_httpMessage`), so no per-request bookkeeping.
  const sockets = new Set<Socket>();
  const perAddress = new ConnectionsPerAddress(limits.maxConnectionsPerAddress, logger);
  server.on('connection', (socket: Socket) => {
    const counted = perAddress.admit(socket.remoteAddress);
    if (counted === undefined) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      perAddress.release(counted);
    });
  });
  const warnDropped = throttledWarning((dropped) =>
    logger.warn(
      { dropped, maxConnections: limits.maxConnections },
      'connections refused: the server is at server.maxConnections',
    ),
  );
  server.on('drop', () => warnDropped(''));
  server.on('upgrade', (req, socket, head) => {
    // Node stops listening for errors on a socket it hands over; a reset must not crash the app.
    socket.on('error', () => socket.destroy());
    const problem = requestHeadProblem(req);
    if (problem) return refuseUpgrade(req, socket, problem);
    for (const handler of upgradeHandlers) if (handler(req, socket, head)) return;
    answerUpgrade(req, socket, 404, 'ROUTE_NOT_FOUND', 'No route takes WebSocket upgrades here.');
  });
  // What Node's parser refuses never reaches a handler; it is answered here in the same form.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const pending = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
    // Nothing can be said on a connection that is gone, or after another answer's first byte.
    if (error.code === 'ECONNRESET' || !socket.writable || pending?.headersSent)
      return void socket.destroy();
    const problem = parserProblem(error);
    writeRawProblem(socket, problem.status, problem.code, problem.detail, randomUUID());
  });
  const refuseRequest = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    problem: HeadProblem,
  ) => {
    const requestId = requestIdOf(req);
    logWhenDone(requestLog, req, res, requestId, req.url ?? '/');
    // The rest of this connection cannot be trusted to be read the same way either.
    sendProblem(
      res,
      problemBody(400, problem.code, problem.detail, { instance: req.url, requestId }),
      { 'x-request-id': requestId, connection: 'close' },
    );
  };
  const refuseUpgrade = (req: http.IncomingMessage, socket: Duplex, problem: HeadProblem) =>
    answerUpgrade(req, socket, 400, problem.code, problem.detail);
  /** Answers an upgrade no one takes with problem+json, and logs its request line. */
  const answerUpgrade = (
    req: http.IncomingMessage,
    socket: Duplex,
    status: number,
    code: string,
    detail: string,
  ) => {
    const requestId = requestIdOf(req);
    const entry = {
      requestId,
      req: {
        method: req.method,
        url: redactUrl(req.url ?? '/'),
        remoteAddress: requestLog.clientOf(req),
      },
      res: { statusCode: status },
      upgrade: true,
    };
    logger.info(entry, 'request completed');
    writeRawProblem(socket, status, code, detail, requestId, req.url);
  };
  server.keepAliveTimeout = limits.keepAliveTimeout;
  server.headersTimeout = limits.headersTimeout;
  server.requestTimeout = limits.requestTimeout;
  server.maxConnections = limits.maxConnections;

  /**
   * Stops accepting, lets in-flight requests finish (bounded by `timeout`), and closes sockets
   * as soon as they carry no request, so keep-alive clients reconnect elsewhere.
   */
  const drain = async (timeout: number, logger: Logger): Promise<void> => {
    if (!server.listening) return;
    const closeIdle = () => {
      for (const socket of sockets)
        if (!(socket as Socket & { _httpMessage?: unknown })._httpMessage) socket.destroy();
    };
    await new Promise<void>((resolve) => {
      const sweep = setInterval(closeIdle, 50);
      const deadline = setTimeout(() => {
        logger.warn({ timeout }, 'in-flight requests did not finish in time; closing connections');
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }, timeout);
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(deadline);
        resolve();
      });
      closeIdle();
    });
  };

  return { server, drain };
}
