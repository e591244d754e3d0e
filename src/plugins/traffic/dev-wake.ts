import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { problemBody, sendProblem } from '../../core/problem.js';
import { requestIdOf } from '../../core/request-log.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
]);

/**
 * Sends one request that waited for a dev slot to wake up. Only those few requests take this
 * path; once the slot is up, the routing plugin proxies everything as usual.
 */
export function forwardAfterWake(
  req: IncomingMessage,
  res: ServerResponse,
  target: string,
  timeout: number,
): void {
  const url = new URL(req.url ?? '/', target);
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers))
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  const peer = req.socket.remoteAddress;
  headers['x-forwarded-for'] = peer ?? 'unknown';
  headers['x-request-id'] = (req as IncomingMessage & { id?: string }).id ?? requestIdOf(req);
  const upstream = http.request(
    url,
    { method: req.method, headers, agent: false, timeout },
    (answer) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers))
        if (!HOP_BY_HOP.has(name)) out[name] = value;
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
      answer.once('error', () => res.destroy());
    },
  );
  upstream.once('timeout', () => upstream.destroy(new Error('timed out')));
  upstream.once('error', () =>
    unavailable(
      req,
      res,
      502,
      'TRAFFIC_WAKE_FAILED',
      'The service started but did not answer this request.',
    ),
  );
  res.once('close', () => upstream.destroy());
  req.pipe(upstream);
}

export function unavailable(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: string,
  detail: string,
  retryAfter?: number,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The id the request line carries (the edge set it); a fresh one only for a request it never saw.
  const requestId = (req as IncomingMessage & { id?: string }).id ?? requestIdOf(req);
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  sendProblem(res, problemBody(status, code, detail, { instance: req.url, requestId }), headers);
}
