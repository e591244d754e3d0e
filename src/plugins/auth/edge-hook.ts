import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { EdgeExchange, EdgeHook, EdgeOutcome } from '../../core/edge.js';
import { holdsPermission } from '../../core/permission.js';
import { problemBody, sendProblem } from '../../core/problem.js';
import { redactUrl } from '../../core/redact-url.js';
import { bearerOf } from './bearer.js';
import { MISSING, SESSION_ENDED, challengeOf, noteRefusal, type Refusal } from './express.js';
import type { ForwardSigner } from './identity.js';
import type { Sessions } from './sessions.js';
import type { AuthUser, TokenVerifier } from './types.js';
import { AuthTokenError } from './verifier.js';

/** A provider whose tokens arrive in a header of their own (the gateway's forwarded identity). */
export interface HeaderSource {
  header: string;
  verifier: TokenVerifier;
}

export interface AuthenticateDeps {
  /** Tokens in `Authorization: Bearer`, for every provider that reads no header of its own. */
  bearer?: TokenVerifier;
  /** Tokens in their own header (`gatewayAdapter`), each checked only by its own providers. */
  headers: readonly HeaderSource[];
  sessions?: Sessions;
  /** Signs what proxied requests carry upstream; undefined when `forward` is `false`. */
  forward?: ForwardSigner;
  /** Where a browser goes to sign in (`routes.login`). */
  loginPath: string;
  logger: Logger;
}

/**
 * Why an exchange has no identity, when it presented a credential that failed (or a route needs
 * one): noted by the authenticate hook, answered by the access hook in the guard phase, so the
 * rate limits in between count the refused request against its address like any other.
 */
const refusals = new WeakMap<EdgeExchange, Refusal>();

/**
 * The `authenticate` hook, in both lanes and on WebSocket upgrades: a bearer token (or a header
 * of a provider that reads one) through the verifier, else the session cookie through the session
 * manager. It sets `exchange.identity` (and `req.user`) and forwards the identity upstream as a
 * token it signs; it never answers (see `accessHook`). A request with no credential at all is
 * settled synchronously, without a promise: most traffic to public routes is that.
 */
export function authenticateHook(deps: AuthenticateDeps): EdgeHook {
  const cookieNames = deps.sessions?.cookieNames ?? [];
  const hasSessionCookie = (req: IncomingMessage) => {
    const cookie = req.headers.cookie;
    if (cookie === undefined || cookieNames.length === 0) return false;
    for (const name of cookieNames) if (cookie.includes(`${name}=`)) return true;
    return false;
  };

  const settle = (exchange: EdgeExchange, user: AuthUser): boolean => {
    exchange.identity = user;
    if (exchange.lane === 'express')
      (exchange.req as IncomingMessage & { user?: AuthUser }).user = user;
    else if (deps.forward)
      exchange.upstreamHeaders.push(deps.forward.header, deps.forward.tokenFor(user));
    return false;
  };

  /** No identity: the access hook refuses it where the route needs one. */
  const anonymous = (exchange: EdgeExchange, refusal?: Refusal): boolean => {
    if (refusal !== undefined) noteRefusal(exchange.req, refusal);
    if (exchange.route?.auth === 'required') refusals.set(exchange, refusal ?? MISSING);
    return false;
  };

  /** A credential presented and refused: 401 on routes that ask for auth, anonymous elsewhere. */
  const refused = (exchange: EdgeExchange, error: unknown): boolean => {
    if (!(error instanceof AuthTokenError)) throw error;
    const refusal: Refusal = { status: error.status, code: error.code, detail: error.message };
    if (exchange.route?.auth === undefined) return anonymous(exchange, refusal);
    noteRefusal(exchange.req, refusal);
    refusals.set(exchange, refusal);
    return false;
  };

  const verify = (exchange: EdgeExchange, verifier: TokenVerifier, token: string) =>
    verifier.verify(token).then(
      (user) => settle(exchange, user),
      (error: unknown) => refused(exchange, error),
    );

  const fromSession = async (exchange: EdgeExchange): Promise<boolean> => {
    const session = await deps.sessions!.read(exchange.req, exchange.res);
    if (session === undefined) return anonymous(exchange, SESSION_ENDED);
    return settle(exchange, { ...session.user, sessionId: session.id });
  };

  return {
    name: 'auth',
    phase: 'authenticate',
    run(exchange): EdgeOutcome {
      // An earlier hook (an API key) identified the caller: keep it, and forward it upstream.
      if (exchange.identity !== undefined) return settle(exchange, exchange.identity);
      const { req } = exchange;
      for (const source of deps.headers) {
        const value = req.headers[source.header];
        if (typeof value === 'string') return verify(exchange, source.verifier, value);
      }
      if (deps.bearer) {
        const token = bearerOf(req);
        if (token !== undefined) return verify(exchange, deps.bearer, token);
      }
      if (hasSessionCookie(req)) return fromSession(exchange);
      return anonymous(exchange);
    },
  };
}

/**
 * The `guard` hook that answers what `authenticate` noted: a route that needs a signed-in caller
 * refuses one without an identity (401 problem+json with a Bearer challenge, or a 303 to the
 * login route for a browser navigation), and a credential presented and refused is 401 on any
 * route that asks for auth. In the guard phase, after the rate limits, so a flood of bad or
 * missing tokens is counted (per address) like any other traffic.
 */
export function accessHook(loginPath: string): EdgeHook {
  return {
    name: 'auth-access',
    phase: 'guard',
    run(exchange) {
      const refusal = refusals.get(exchange);
      if (refusal === undefined) return false;
      if (refusal === MISSING && !exchange.upgrade && isNavigation(exchange.req))
        return redirectToLogin(exchange, loginPath);
      return refuse(exchange, refusal);
    },
  };
}

/**
 * What the roles plugin's service (`ctx.tryGet('roles')`) offers this guard, by shape only: the
 * auth plugin never loads the roles plugin's code.
 */
export interface PermissionGuard {
  refusal(
    user: AuthUser,
    permissions: readonly string[],
  ): { status: number; code: string; detail: string; missing: string } | undefined;
}

/**
 * The `guard` hook for routes with `permissions`: the caller must hold each of them. With the
 * roles plugin registered (`roles()` returns its service) wildcards, inheritance and assigned
 * roles count, and a refusal is its `ROLES_PERMISSION_MISSING`; without it the token's own
 * permissions must cover each by the same rule (`core/permission.ts`: wildcards, and
 * `traffic:deploy` covering `traffic:deploy:api`). Authentication has run by then, so a route with
 * permissions (which implies `auth: 'required'`) only ever sees signed-in callers.
 */
export function permissionsHook(
  roles: () => PermissionGuard | undefined = () => undefined,
): EdgeHook {
  return {
    name: 'auth-permissions',
    phase: 'guard',
    lanes: ['proxy'],
    run(exchange) {
      const required = exchange.route?.permissions;
      if (required === undefined || required.length === 0) return false;
      const guard = roles();
      if (guard !== undefined && exchange.identity !== undefined) {
        const refusal = guard.refusal(exchange.identity, required);
        if (refusal === undefined) return false;
        answerProblem(exchange, refusal.status, refusal.code, refusal.detail, [], {
          missing: refusal.missing,
        });
        return true;
      }
      const held = exchange.identity?.permissions ?? [];
      const missing = required.filter((permission) => !holdsPermission(held, permission));
      if (missing.length === 0) return false;
      answerProblem(
        exchange,
        403,
        'AUTH_FORBIDDEN',
        `This route needs the permission${missing.length === 1 ? '' : 's'} ${missing.join(', ')}.`,
      );
      return true;
    },
  };
}

/** A top-level page load of a browser, which a login page helps more than a 401. */
function isNavigation(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const mode = req.headers['sec-fetch-mode'];
  if (mode !== undefined && mode !== 'navigate') return false;
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/html');
}

function refuse(exchange: EdgeExchange, refusal: Refusal): true {
  const challenge = refusal.status === 401 ? ['www-authenticate', challengeOf(refusal)] : [];
  answerProblem(exchange, refusal.status, refusal.code, refusal.detail, challenge);
  return true;
}

function redirectToLogin(exchange: EdgeExchange, loginPath: string): true {
  const url = exchange.req.url ?? '/';
  const query = url.indexOf('?');
  const returnTo = exchange.path + (query === -1 ? '' : url.slice(query));
  const location = `${loginPath}?returnTo=${encodeURIComponent(returnTo)}`;
  exchange.res.writeHead(303, {
    ...headersOf(exchange),
    location,
    'cache-control': 'no-store',
    'content-length': '0',
  });
  exchange.res.end();
  return true;
}

/**
 * The answer's head: the request id, then what earlier hooks set for every answer (the security
 * headers for data: a problem+json or an empty redirect is not a document).
 */
function headersOf(exchange: EdgeExchange, extra: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = { 'x-request-id': exchange.requestId };
  for (const list of [exchange.defaultDataHeaders, exchange.headers, extra])
    for (let index = 0; index < list.length; index += 2) out[list[index]] = list[index + 1];
  return out;
}

function answerProblem(
  exchange: EdgeExchange,
  status: number,
  code: string,
  detail: string,
  extra: readonly string[] = [],
  details?: Record<string, unknown>,
): void {
  const { req, res, requestId } = exchange;
  sendProblem(
    res,
    problemBody(status, code, detail, { instance: redactUrl(req.url ?? '/'), requestId, details }),
    headersOf(exchange, extra),
  );
}
