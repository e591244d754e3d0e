import http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RawHandler, UpgradeHandler } from './context.js';

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
  timeouts?: ServerTimeouts;
}): { server: http.Server; drain(timeout: number, logger: Logger): Promise<void> } {
  const { dispatch, rawHandlers, upgradeHandlers, isStopping } = options;
  const server = http.createServer((req, res) => {
    // Once stopping, tell keep-alive clients to leave now instead of being cut by the drain.
    if (isStopping()) res.shouldKeepAlive = false;
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
    for (const handler of upgradeHandlers) if (handler(req, socket, head)) return;
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
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
