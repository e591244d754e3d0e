import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { writeRawProblem } from '../../core/problem.js';
import { redactUrl } from '../../core/redact-url.js';
import { requestIdOf } from '../../core/request-log.js';
import type { ProxyRouteConfig } from './options.js';
import { upstreamRequestHeaders } from './headers.js';
import type { ClientAddresses } from '../../core/client-address.js';
import type { Upstream } from './upstream.js';

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Browsers neither preflight WebSockets nor apply CORS to them: an upgrade from a page of another
 * origin that CORS does not allow is refused here (403 problem+json). True when it was refused.
 */
export function refusedOrigin(
  req: IncomingMessage,
  socket: Duplex,
  cors: { allows(origin: string): boolean } | undefined,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || cors?.allows(origin) || sameOrigin(origin, req.headers.host))
    return false;
  writeRawProblem(
    socket,
    403,
    'ROUTING_ORIGIN_FORBIDDEN',
    'This origin may not open WebSockets here.',
    requestIdOf(req),
    req.url,
  );
  return true;
}

export interface UpgradeJob {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  requestId: string;
  route: ProxyRouteConfig;
  upstream: Upstream;
  path: string;
  trusted: ClientAddresses;
  privateCookies: readonly string[];
  reservedHeaders: ReadonlySet<string>;
  upstreamHeaders: readonly string[];
  logger: Logger;
  /** Open tunnels (client sockets), so a stopping app can close them. */
  tunnels: Set<Duplex>;
}

const noop = () => undefined;

function headerLines(headers: Record<string, string | string[] | undefined>): string {
  let out = '';
  for (const name in headers) {
    if (name === 'x-request-id' || name === 'keep-alive' || name === 'transfer-encoding') continue;
    const value = headers[name];
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) out += `${name}: ${item}\r\n`;
  }
  return out;
}

/**
 * Proxies a WebSocket (or any HTTP/1.1) upgrade: the handshake goes through the upstream pool,
 * then the two sockets are piped together; either side closing or failing closes both.
 */
export function forwardUpgrade(job: UpgradeJob): void {
  const { req, socket, logger, requestId } = job;
  const started = performance.now();
  const remoteAddress = job.trusted.of(req);
  let controller: Dispatcher.DispatchController | undefined;
  let settled = false;
  socket.on('error', noop);
  const clientClosed = () => {
    if (!settled) controller?.abort(new Error('client closed the connection'));
  };
  socket.once('close', clientClosed);
  const logLine = (statusCode: number, upstreamError?: string) => {
    settled = true;
    const entry = {
      requestId,
      req: { method: req.method, url: redactUrl(req.url ?? '/'), remoteAddress },
      res: { statusCode },
      responseTime: Math.round((performance.now() - started) * 100) / 100,
      route: job.route.id ?? job.route.match,
      upstream: job.upstream.target,
      upgrade: true,
      ...(upstreamError ? { upstreamError } : {}),
    };
    if (statusCode >= 500) logger.warn(entry, 'request completed');
    else logger.info(entry, 'request completed');
  };

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(started) {
      controller = started;
    },
    onRequestUpgrade(_controller, statusCode, headers, upstreamSocket) {
      logLine(statusCode);
      upstreamSocket.on('error', noop);
      if (socket.destroyed) {
        upstreamSocket.destroy();
        return;
      }
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\n${headerLines(headers)}x-request-id: ${requestId}\r\n\r\n`,
      );
      if (job.head.length > 0) upstreamSocket.write(job.head);
      job.tunnels.add(socket);
      const closeBoth = () => {
        job.tunnels.delete(socket);
        socket.destroy();
        upstreamSocket.destroy();
      };
      socket.once('close', closeBoth);
      upstreamSocket.once('close', closeBoth);
      socket.pipe(upstreamSocket);
      upstreamSocket.pipe(socket);
    },
    // The upstream answered without upgrading (e.g. 404 or 401): pass the status on, no body.
    onResponseStart(_controller, statusCode) {
      if (statusCode < 200) return;
      logLine(statusCode);
      if (!socket.destroyed) {
        socket.end(
          `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\nx-request-id: ${requestId}\r\n\r\n`,
        );
      }
    },
    onResponseData: noop,
    onResponseEnd: noop,
    onResponseError(_controller, error: Error & { code?: string }) {
      if (settled && !socket.destroyed) return void socket.destroy();
      if (socket.destroyed) return;
      const timeout =
        error.code === 'UND_ERR_HEADERS_TIMEOUT' || error.code === 'UND_ERR_CONNECT_TIMEOUT';
      logLine(timeout ? 504 : 502, error.code ? `${error.code}: ${error.message}` : error.message);
      writeRawProblem(
        socket,
        timeout ? 504 : 502,
        timeout ? 'ROUTING_UPSTREAM_TIMEOUT' : 'ROUTING_UPSTREAM_UNAVAILABLE',
        `The upstream for ${job.route.match} ${timeout ? 'did not answer in time' : 'is unavailable'}.`,
        requestId,
        req.url,
      );
    },
  };

  try {
    job.upstream.pool.dispatch(
      {
        path: job.path,
        method: 'GET',
        headers: upstreamRequestHeaders(req, {
          requestId,
          trusted: job.trusted,
          preserveHost: job.route.preserveHost,
          edits: job.route.headers.request,
          privateCookies: job.privateCookies,
          reserved: job.reservedHeaders,
          set: job.upstreamHeaders,
        }),
        upgrade: String(req.headers.upgrade ?? 'websocket'),
        headersTimeout: job.route.timeouts.responseHeaders,
      },
      handler,
    );
  } catch (error) {
    handler.onResponseError!(controller as Dispatcher.DispatchController, error as Error);
  }
}
