import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { problemBody, sendProblem } from '../../core/problem.js';
import type { ProxyRouteConfig } from './options.js';
import { isDataContentType } from '../../core/content-type.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { ClientAddresses } from '../../core/client-address.js';
import type { RequestLogExtras } from './log.js';
import type { Upstream } from './upstream.js';

/** A request on its way upstream: the parts of its edge exchange the proxy reads. */
export interface ProxyJob {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** Headers added unless the upstream set them (the security plugin's defaults), lower-case names. */
  readonly defaultHeaders: readonly string[];
  /** What replaces `defaultHeaders` on a data answer (see `isDataContentType`). */
  readonly defaultDataHeaders: readonly string[];
  /** Set by edge hooks, replacing same-named ones (the signed identity), flat `[name, value, ...]`. */
  readonly upstreamHeaders: readonly string[];
  readonly log: RequestLogExtras;
}

/** Where and how one request is proxied, decided once its hooks let it through. */
export interface ProxyTarget {
  route: ProxyRouteConfig;
  upstream: Upstream;
  /** Path and query as sent upstream. */
  path: string;
  /** Headers the answer carries whatever the upstream sends (CORS, a rate limit's), flat. */
  extraHeaders: readonly string[];
}

/** What proxying needs of the router that is the same for every request (one object, shared). */
export interface ProxySettings {
  readonly trusted: ClientAddresses;
  readonly privateCookies: readonly string[];
  /** Request headers only the gateway sets (the forwarded identity): a client's are dropped. */
  readonly reservedHeaders: ReadonlySet<string>;
  /** Whether edge hooks run, and so may have set headers on the response already. */
  readonly headersPreset: boolean;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const noop = () => undefined;

class ClientGone extends Error {
  override name = 'ClientGone';
}

/** Maps an upstream failure that happened before any response byte to a problem. */
function problemFor(
  error: Error & { code?: string },
  route: ProxyRouteConfig,
): { status: number; code: string; detail: string } {
  if (error.code && TIMEOUT_CODES.has(error.code)) {
    return {
      status: 504,
      code: 'ROUTING_UPSTREAM_TIMEOUT',
      detail: `The upstream for ${route.match} did not answer in time.`,
    };
  }
  if (
    error.code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' ||
    error.name === 'RequestContentLengthMismatchError'
  ) {
    return {
      status: 400,
      code: 'ROUTING_BODY_INCOMPLETE',
      detail: 'The request body did not match its Content-Length.',
    };
  }
  return {
    status: 502,
    code: 'ROUTING_UPSTREAM_UNAVAILABLE',
    detail: `The upstream for ${route.match} is unavailable.`,
  };
}

/**
 * Writes the head from a flat list. When something (the rate limiter, a guard) already set headers
 * on the response, Node's writeHead would set the list pair by pair and keep only the last of
 * repeated names (two Set-Cookie headers become one), so the list is appended instead.
 */
function writeHead(res: ServerResponse, statusCode: number, list: string[], preset: boolean): void {
  if (!preset || res.getHeaderNames().length === 0) {
    res.writeHead(statusCode, list);
    return;
  }
  for (let index = 0; index < list.length; index += 2) {
    if (list[index] === 'x-request-id') res.removeHeader('x-request-id');
    res.appendHeader(list[index], list[index + 1]);
  }
  res.writeHead(statusCode);
}

/**
 * Forwards one request through the upstream's keep-alive pool, streaming both bodies with
 * backpressure. Before the first response byte a failure becomes a problem+json answer; after
 * it the client connection is destroyed, so a truncated body is never passed off as complete.
 * A client that goes away aborts the upstream request.
 */
export function forward(job: ProxyJob, target: ProxyTarget, settings: ProxySettings): void {
  const { req } = job;
  const { route } = target;
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  if (hasBody) req.on('error', noop); // a client abort mid-upload surfaces through undici instead
  const exchange = new Exchange(job, target, hasBody, settings.headersPreset);
  // `on`, not `once`: a response closes once, and this spares a wrapper per request.
  job.res.on('close', exchange.onClientClose);
  try {
    target.upstream.pool.dispatch(
      {
        path: target.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: upstreamRequestHeaders(req, {
          requestId: job.requestId,
          trusted: settings.trusted,
          preserveHost: route.preserveHost,
          edits: route.headers.request,
          privateCookies: settings.privateCookies,
          reserved: settings.reservedHeaders,
          set: job.upstreamHeaders,
        }),
        body: hasBody ? req : null,
        headersTimeout: route.timeouts.responseHeaders,
        bodyTimeout: route.timeouts.idle,
      },
      exchange,
    );
  } catch (error) {
    exchange.onResponseError(undefined, error as Error);
  }
}

/** One proxied request's handler: undici calls it as the upstream answers. */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private clientGone = false;
  private responded = false;
  private resume: (() => void) | undefined;

  constructor(
    private readonly job: ProxyJob,
    private readonly target: ProxyTarget,
    private readonly hasBody: boolean,
    private readonly headersPreset: boolean,
  ) {}

  readonly onClientClose = (): void => {
    if (this.job.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(new ClientGone('client closed the connection'));
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientGone('client closed the connection'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const { job, target } = this;
    const { res } = job;
    if (statusCode < 200 || res.destroyed) return;
    this.responded = true;
    const list = clientResponseHeaders(headers, job.requestId, target.route.headers.response);
    for (let index = 0; index < target.extraHeaders.length; index++)
      list.push(target.extraHeaders[index]);
    const defaults = isDataContentType(headers['content-type'])
      ? job.defaultDataHeaders
      : job.defaultHeaders;
    for (let index = 0; index < defaults.length; index += 2)
      if (headers[defaults[index]] === undefined) list.push(defaults[index], defaults[index + 1]);
    try {
      writeHead(res, statusCode, list, this.headersPreset);
    } catch (error) {
      // Upstream headers Node refuses to write: nothing valid can be relayed.
      job.log.upstreamError = `invalid response headers: ${(error as Error).message}`;
      res.destroy();
      controller.abort(error as Error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const { res } = this.job;
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      controller.pause();
      this.resume ??= () => this.controller?.resume();
      res.once('drain', this.resume);
    }
  }

  onResponseEnd(): void {
    if (!this.job.res.destroyed) this.job.res.end();
  }

  onResponseError(
    _controller: Dispatcher.DispatchController | undefined,
    error: Error & { code?: string },
  ): void {
    const { job } = this;
    const { req, res } = job;
    if (error instanceof ClientGone || this.clientGone) return;
    job.log.upstreamError = error.code ? `${error.code}: ${error.message}` : error.message;
    if (this.responded || res.headersSent) {
      res.destroy();
      return;
    }
    const problem = problemFor(error, this.target.route);
    const headers: Record<string, string> = { 'x-request-id': job.requestId };
    // A problem+json answer is data.
    for (const list of [job.defaultDataHeaders, this.target.extraHeaders])
      for (let index = 0; index < list.length; index += 2) headers[list[index]] = list[index + 1];
    // The rest of an unread body would otherwise be parsed as the next request.
    if (this.hasBody && !req.complete) headers.connection = 'close';
    sendProblem(
      res,
      problemBody(problem.status, problem.code, problem.detail, {
        instance: req.url,
        requestId: job.requestId,
      }),
      headers,
    );
  }
}
