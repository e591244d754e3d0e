import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AppContext } from './context.js';

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a well-formed incoming `x-request-id`; anything else gets a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && WELL_FORMED_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Assigns the request id, echoes it, and logs one line per request when the response is done
 * (or the client went away). Headers are logged at debug level, through the redaction paths.
 */
export function requestLogger(logger: Logger, context: AppContext): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    req.id = requestIdOf(req);
    req.context = context;
    res.setHeader('x-request-id', req.id);
    res.once('close', () => {
      const responseTime = Math.round((performance.now() - started) * 100) / 100;
      const aborted = !res.writableFinished;
      const status = res.statusCode;
      const level = aborted || status >= 500 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const entry: Record<string, unknown> = {
        requestId: req.id,
        req: logger.isLevelEnabled('debug')
          ? { method: req.method, url: req.originalUrl, remoteAddress: req.socket.remoteAddress, headers: req.headers }
          : { method: req.method, url: req.originalUrl, remoteAddress: req.socket.remoteAddress },
        res: { statusCode: status },
        responseTime,
      };
      if (aborted) entry.aborted = true;
      logger[level](entry, aborted ? 'request aborted' : 'request completed');
    });
    next();
  };
}
