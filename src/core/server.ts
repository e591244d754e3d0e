import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RawHandler, UpgradeHandler } from './context.js';
import { problemBody, sendProblem, writeRawProblem } from './problem.js';
import { redactUrl } from './redact-url.js';
import { requestHeadProblem, type HeadProblem } from './request-head.js';
import { logWhenDone, requestIdOf, requestLoggers } from './request-log.js';

export interface ServerTimeouts {
  keepAliveTimeout?: number;
  headersTimeout?: number;
  requestTimeout?: number;
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
  timeouts?: ServerTimeouts;
}): { server: http.Server; drain(timeout: number, logger: Logger): Promise<void> } {
  const { dispatch, rawHandlers, upgradeHandlers, isStopping, logger } = options;
  const requestLog = requestLoggers(logger);
  const server = http.createServer((req, res) => {
    // Once stopping, tell keep-alive clients to leave now instead of being cut by the drain.
    if (isStopping()) res.shouldKeepAlive = false;
    // Here, before any handler, so Express routes, raw handlers and upgrades refuse alike.
    const problem = requestHeadProblem(req);
    if (problem) return refuseRequest(req, res, problem);
    for (let index = 0; index < rawHandlers.length; index++) if (rawHandlers[index](req, res)) return;
    dispatch(req, res);
  });

  // Every open socket, so a drain can close those that carry no request, including ones opened
  // speculatively by clients that never sent a request (closeIdleConnections skips those). Node
  // attaches the response in progress to its socket (`_httpMessage`), so no per-request bookkeeping.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    // Node stops listening for errors on a socket it hands over; a reset must not crash the app.
    socket.on('error', () => socket.destroy());
    const problem = requestHeadProblem(req);
    if (problem) return refuseUpgrade(req, socket, problem);
    for (const handler of upgradeHandlers) if (handler(req, socket, head)) return;
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  const refuseRequest = (req: http.IncomingMessage, res: http.ServerResponse, problem: HeadProblem) => {
    const requestId = requestIdOf(req);
    logWhenDone(requestLog, req, res, requestId, req.url ?? '/');
    // The rest of this connection cannot be trusted to be read the same way either.
    sendProblem(res, problemBody(400, problem.code, problem.detail, { instance: req.url, requestId }), { 'x-request-id': requestId, connection: 'close' });
  };
  const refuseUpgrade = (req: http.IncomingMessage, socket: Duplex, problem: HeadProblem) => {
    const requestId = requestIdOf(req);
    const entry = { requestId, req: { method: req.method, url: redactUrl(req.url ?? '/'), remoteAddress: req.socket.remoteAddress }, res: { statusCode: 400 }, upgrade: true };
    logger.info(entry, 'request completed');
    writeRawProblem(socket, 400, problem.code, problem.detail, requestId, req.url);
  };
  server.keepAliveTimeout = options.timeouts?.keepAliveTimeout ?? 5_000;
  server.headersTimeout = options.timeouts?.headersTimeout ?? 60_000;
  server.requestTimeout = options.timeouts?.requestTimeout ?? 300_000;

  /**
   * Stops accepting, lets in-flight requests finish (bounded by `timeout`), and closes sockets
   * as soon as they carry no request, so keep-alive clients reconnect elsewhere.
   */
  const drain = async (timeout: number, logger: Logger): Promise<void> => {
    if (!server.listening) return;
    const closeIdle = () => {
      for (const socket of sockets) if (!(socket as Socket & { _httpMessage?: unknown })._httpMessage) socket.destroy();
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
