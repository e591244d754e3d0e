import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { lineWriter, type LineWriter } from './logger.js';
import type { AppContext } from './context.js';
import { redactUrl } from './redact-url.js';

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a well-formed incoming `x-request-id`; anything else gets a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && WELL_FORMED_ID.test(incoming) ? incoming : randomUUID();
}

/** Fields a plugin adds to a request's line (the routing plugin: route, upstream, error). */
export type RequestLogExtras = Record<string, string | undefined>;

/**
 * The loggers request lines go through. At info the line has a fixed shape holding none of the
 * redacted keys (no headers), so `plain` skips redaction, which otherwise walks every redact
 * path (wildcards included) for each line: a tenth of a proxied request's CPU. At debug the line
 * carries the headers and `redacting`, the app logger, writes it.
 */
export interface RequestLoggers {
  plain: Logger;
  redacting: Logger;
  /** `plain`'s lines written as one string, when `plain` is a logger of `createLogger`'s. */
  line?: LineWriter;
  /** The client's address as the line shows it: the app's one trustProxy decides. */
  clientOf: (req: IncomingMessage) => string | undefined;
}

export function requestLoggers(
  logger: Logger,
  clientOf: (req: IncomingMessage) => string | undefined = (req) => req.socket.remoteAddress,
): RequestLoggers {
  const plain = logger.child({}, { redact: [] });
  return { plain, redacting: logger, clientOf, line: lineWriter(plain) };
}

/**
 * Logs one line when the response is done or the client went away, in one shape whether Express
 * or a raw handler answered: `requestId`, `req`, `res.statusCode`, `responseTime`, `aborted`.
 * The URL is logged with its credential parameters redacted (`redactUrl`).
 */
export function logWhenDone(
  loggers: RequestLoggers,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  url: string,
  extras?: RequestLogExtras,
): void {
  const started = performance.now();
  // The socket may be detached by the time the response closes.
  const remoteAddress = loggers.clientOf(req);
  // `on`, not `once`: a response closes once, and this spares a wrapper per request.
  res.on('close', () => {
    const aborted = !res.writableFinished;
    const level = aborted || res.statusCode >= 500 ? 'warn' : 'info';
    const { plain, redacting, line } = loggers;
    if (!plain.isLevelEnabled(level)) return;
    const debug = plain.isLevelEnabled('debug');
    const logged = redactUrl(url);
    const elapsed = performance.now() - started;
    if (line && !debug) {
      // The same line as below, serialised in one go (the keys and their order are pino's).
      let fields = `,"requestId":${text(requestId)},"req":{"method":${known(req.method ?? '')},"url":${text(logged)}${remoteAddress === undefined ? '' : `,"remoteAddress":${text(remoteAddress)}`}},"res":{"statusCode":${res.statusCode}},"responseTime":${milliseconds(elapsed)}`;
      if (extras)
        for (const key in extras) {
          const value = extras[key];
          if (value !== undefined) fields += `,${known(key)}:${text(value)}`;
        }
      if (aborted) fields += ',"aborted":true';
      line(level, fields, aborted ? 'request aborted' : 'request completed');
      return;
    }
    const entry: Record<string, unknown> = {
      requestId,
      req: debug
        ? { method: req.method, url: logged, remoteAddress, headers: loggedHeaders(req.headers) }
        : { method: req.method, url: logged, remoteAddress },
      res: { statusCode: res.statusCode },
      responseTime: Math.round(elapsed * 100) / 100,
    };
    if (extras) for (const key in extras) if (extras[key] !== undefined) entry[key] = extras[key];
    if (aborted) entry.aborted = true;
    (debug ? redacting : plain)[level](entry, aborted ? 'request aborted' : 'request completed');
  });
}

/** Characters a JSON string can hold as they are: the common case, with nothing to escape. */
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal (a URL or an id rarely needs escaping, so it rarely pays for it). */
function text(value: string): string {
  return PLAIN_JSON_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * The JSON of a string from a small set that repeats on every line (methods, the names of
 * extras), escaped once; an unusual one is escaped each time.
 */
const KNOWN = new Map<string, string>();
function known(value: string): string {
  let json = KNOWN.get(value);
  if (json === undefined) {
    json = text(value);
    if (KNOWN.size < 64 && value.length <= 32) KNOWN.set(value, json);
  }
  return json;
}

/** `.01` to `.99` (trailing zeros dropped, as JSON.stringify writes them), by hundredths. */
const HUNDREDTHS = Array.from({ length: 100 }, (_, index) =>
  index === 0 ? '' : String(index / 100).slice(1),
);

/**
 * Milliseconds rounded to hundredths, as `Math.round(ms * 100) / 100` would print: from two
 * small integers, which skips formatting a fraction on every line.
 */
export function milliseconds(elapsed: number): string {
  const hundredths = Math.round(elapsed * 100);
  // Anything but a sane duration (negative, NaN, beyond exact integers) is printed the slow way.
  if (!(hundredths >= 0 && hundredths <= Number.MAX_SAFE_INTEGER)) return String(hundredths / 100);
  return `${Math.floor(hundredths / 100)}${HUNDREDTHS[hundredths % 100]}`;
}

/** The headers as a debug line shows them: a Referer's query is redacted like the request's own. */
function loggedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const referer = headers.referer;
  if (referer === undefined) return headers;
  const redacted = redactUrl(referer);
  return redacted === referer ? headers : { ...headers, referer: redacted };
}

/** Assigns the request id, echoes it, gives handlers the context, and logs the request. */
export function requestPreparer(
  logger: Logger,
  context: AppContext,
): (req: Request, res: Response) => void {
  const loggers = requestLoggers(logger, context.clients.of);
  return (req, res) => {
    req.id = requestIdOf(req);
    req.context = context;
    res.setHeader('x-request-id', req.id);
    logWhenDone(loggers, req, res, req.id, req.originalUrl);
  };
}
