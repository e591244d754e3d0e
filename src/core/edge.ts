import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoutePlane } from './plugin.js';

/**
 * The phases of the edge pipeline, in the order they run. Each cross-cutting step is a hook its
 * own plugin registers in one of them (`ctx.app.edge.add`); the router knows none of them.
 * - `headers`: what every answer carries (security headers). First, so that a later hook's own
 *   answer (a 401, a 429) carries them too; a headers hook only adds to the lists, never answers;
 * - `identify`: who is calling at the network level (the request id, the client address and the
 *   one request line are the core's own, before any hook);
 * - `authenticate`: who the user is (session, bearer token, API key);
 * - `limit`: rate limits, after identity so that limits can be per user;
 * - `guard`: what may pass (route permissions, the traffic plugin's guards; admin routes add the
 *   admin guard).
 * A hook that answers itself sends `defaultDataHeaders` (a problem+json or an empty redirect is
 * data) and `headers`.
 */
export const EDGE_PHASES = ['headers', 'identify', 'authenticate', 'limit', 'guard'] as const;
export type EdgePhase = (typeof EDGE_PHASES)[number];

/** Which way a request is answered: proxied by the gateway (raw lane), or by an Express route. */
export type EdgeLane = 'proxy' | 'express';

/** The route a request matched, once, before any hook runs; shared by its requests, frozen. */
export interface EdgeRoute {
  /** The routing plugin's route id (proxy lane), or the kernel's name for the Express lane. */
  readonly id: string;
  readonly plane: RoutePlane;
  /** Proxy lane: the upstream the route points at as the request is matched. */
  readonly target?: string;
  /**
   * Whether the route wants a signed-in caller: `required` answers 401 without one, `optional`
   * identifies a caller who has a session or token and lets the others through. Undefined: the
   * route asks nothing (the auth plugin, when registered, still identifies callers it can).
   */
  readonly auth?: 'required' | 'optional';
  /** Permissions the caller must hold (`write:content`), checked in the guard phase. */
  readonly permissions?: readonly string[];
}

/**
 * Who a request acts as, once an `authenticate` hook has settled it: one shape for every
 * provider. A user is identified by issuer plus subject, never by email alone.
 */
export interface EdgeIdentity {
  /** Stable id: the provider's name and the subject, `auth0|<sub>`. */
  id: string;
  /** The provider (adapter) name that verified it: `auth0`, `supabase`, `jwt`, `gateway`, ... */
  provider: string;
  /** The token's `iss`. */
  issuer: string;
  /** The token's `sub`. */
  subject: string;
  email?: string;
  name?: string;
  /** Roles from trusted claims only (never user-editable metadata). */
  roles: readonly string[];
  permissions: readonly string[];
  /** The verified claims, as the provider issued them. */
  claims: Readonly<Record<string, unknown>>;
  /** The server or cookie session the caller came with, if any (bearer tokens have none). */
  sessionId?: string;
}

/** One request (or WebSocket upgrade) on its way through the pipeline. */
export interface EdgeExchange {
  readonly req: IncomingMessage;
  /** For an upgrade, an HTTP response written on the raw socket: a hook answers as usual. */
  readonly res: ServerResponse;
  readonly lane: EdgeLane;
  readonly upgrade: boolean;
  /** The path, normalised once (see `normaliseTarget`); every hook matches on it. */
  readonly path: string;
  /** The matched route (proxy lane), or undefined in the Express lane, where Express matches. */
  readonly route: EdgeRoute | undefined;
  readonly requestId: string;
  /**
   * Headers for the answer unless its handler or upstream sets its own, as a flat
   * `[name, value, ...]` list (the security headers). A `headers` hook adds to it, and to
   * `defaultDataHeaders`, with `addDefaultHeaders`; the list may be shared between requests, so
   * it is never changed in place.
   */
  defaultHeaders: readonly string[];
  /**
   * What replaces `defaultHeaders` on an answer that is data, not a document (JSON, plain text,
   * images; see `isDataContentType`): the headers that still matter there, far fewer bytes on
   * every API answer. A lane that cannot tell the type before the handler runs (Express) sends
   * `defaultHeaders`.
   */
  defaultDataHeaders: readonly string[];
  /**
   * Headers the answer carries whatever its handler or upstream sets (a rate limit's RateLimit
   * headers), flat like `defaultHeaders`. Written with the answer's head in one go, which costs
   * less than setting them on the response one by one.
   */
  readonly headers: string[];
  /**
   * Proxy lane: headers the upstream request carries, replacing any the client sent under the
   * same name, flat like `headers` (the auth plugin's signed identity).
   */
  readonly upstreamHeaders: string[];
  /** Set by an `authenticate` hook when the caller is known; later hooks read it. */
  identity?: EdgeIdentity;
}

/** An exchange's defaults before any `headers` hook: shared, like every list a hook adds. */
export const NO_HEADERS: readonly string[] = Object.freeze([]);

/**
 * Adds a hook's default headers (flat lists computed once, for documents and for data) to an
 * exchange's. The first hook's lists are taken as they are, not copied: a request costs no copy
 * of the security headers. A second hook's are appended to a new list. Freeze the lists you
 * hand over: they are shared by every request.
 */
export function addDefaultHeaders(
  exchange: EdgeExchange,
  document: readonly string[],
  data: readonly string[],
): void {
  exchange.defaultHeaders = joined(exchange.defaultHeaders, document);
  exchange.defaultDataHeaders = joined(exchange.defaultDataHeaders, data);
}

function joined(current: readonly string[], added: readonly string[]): readonly string[] {
  if (added.length === 0) return current;
  return current.length === 0 ? added : Object.freeze([...current, ...added]);
}

/**
 * What follows the hooks: `proceed` when none answered, `fail` when one threw or rejected. One
 * object per lane, not per request: the exchange carries the request's own state.
 */
export interface EdgeNext<E extends EdgeExchange = EdgeExchange> {
  proceed(exchange: E): void;
  fail(exchange: E, error: unknown): void;
}

/** True when the hook answered the request (nothing later runs); a promise for async hooks. */
export type EdgeOutcome = boolean | Promise<boolean>;

export interface EdgeHook {
  /** Names the hook in errors and tests (`rate-limit`, `traffic`). */
  name: string;
  phase: EdgePhase;
  /** Which lanes the hook runs in. Default both. */
  lanes?: readonly EdgeLane[];
  run(exchange: EdgeExchange): EdgeOutcome;
}

const PHASE_ORDER = new Map<EdgePhase, number>(EDGE_PHASES.map((phase, index) => [phase, index]));

/**
 * The hooks of one app, sorted by phase (registration order within a phase), run for each
 * request of either lane. Synchronous hooks run without a promise or a microtask; the pipeline
 * waits only for a hook that returns a promise.
 */
export class EdgePipeline {
  private readonly byLane: Record<EdgeLane, EdgeHook[]> = { proxy: [], express: [] };
  private readonly reserved = new Set<string>();
  private readonly cookies = new Set<string>();

  /**
   * Reserves a request header for the gateway itself (lower case): the router drops it from
   * every incoming request before any upstream sees it, so only a hook (through
   * `upstreamHeaders`) can set it. The auth plugin reserves its identity header this way.
   */
  reserveRequestHeader(name: string): void {
    this.reserved.add(name.toLowerCase());
  }

  /** The reserved request headers, lower case. */
  get reservedRequestHeaders(): ReadonlySet<string> {
    return this.reserved;
  }

  /**
   * Reserves a cookie for the gateway itself (a session cookie): the router strips it from
   * every request it forwards, so no upstream ever holds a credential of the gateway's. The auth
   * plugin reserves its session cookie this way; the admin guard's cookies are kept apart too.
   */
  reserveCookie(name: string): void {
    this.cookies.add(name);
  }

  /** The reserved cookie names, as given (cookie names are case-sensitive). */
  get reservedCookies(): ReadonlySet<string> {
    return this.cookies;
  }

  add(hook: EdgeHook): void {
    if (!PHASE_ORDER.has(hook.phase)) {
      throw new TypeError(
        `Edge hook "${hook.name}": phase "${hook.phase}" is not one of ${EDGE_PHASES.join(', ')}.`,
      );
    }
    for (const lane of hook.lanes ?? (['proxy', 'express'] as const)) {
      const list = this.byLane[lane];
      list.push(hook);
      // Stable: hooks of one phase keep the order they were added in.
      list.sort((a, b) => PHASE_ORDER.get(a.phase)! - PHASE_ORDER.get(b.phase)!);
    }
  }

  /**
   * Whether any hook runs in the lane (a lane with none skips building an exchange's extras), or
   * in one phase of it: a route that asks for a signed-in caller needs an `authenticate` hook.
   */
  has(lane: EdgeLane, phase?: EdgePhase): boolean {
    const hooks = this.byLane[lane];
    return phase === undefined ? hooks.length > 0 : hooks.some((hook) => hook.phase === phase);
  }

  /**
   * Runs the lane's hooks in order, then `next.proceed` unless one answered. A hook that throws
   * or rejects ends the request through `next.fail`.
   */
  run<E extends EdgeExchange>(exchange: E, next: EdgeNext<E>): void {
    runFrom(this.byLane[exchange.lane], 0, exchange, next);
  }
}

function runFrom<E extends EdgeExchange>(
  hooks: readonly EdgeHook[],
  start: number,
  exchange: E,
  next: EdgeNext<E>,
): void {
  for (let index = start; index < hooks.length; index++) {
    let outcome: EdgeOutcome;
    try {
      outcome = hooks[index].run(exchange);
    } catch (error) {
      next.fail(exchange, error);
      return;
    }
    if (outcome === true) return;
    if (outcome === false) continue;
    outcome.then(
      (answered) => {
        if (!answered && !exchange.res.destroyed) runFrom(hooks, index + 1, exchange, next);
      },
      (error: unknown) => next.fail(exchange, error),
    );
    return;
  }
  next.proceed(exchange);
}
