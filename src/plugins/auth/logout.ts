import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { LoginFlow } from './login.js';
import { deriveKey } from './session-cookie.js';
import type { Sessions } from './sessions.js';
import type { AuthSession } from './types.js';

/**
 * Anti-forgery for logout: a state-changing POST passes when its `Origin` is the public origin,
 * or when it carries `X-CSRF-Token` (an HMAC of the session id, which `me` hands out), for
 * callers that send no Origin. The key comes from `session.secret` when set, so every instance
 * accepts the same token; otherwise from a random key of this process.
 */
export class LogoutGuard {
  private readonly key: Uint8Array;

  constructor(
    private readonly publicOrigin: string,
    secrets: readonly string[],
  ) {
    this.key =
      secrets.length > 0 ? deriveKey(secrets[0], 'csrf v1') : new Uint8Array(randomBytes(32));
  }

  tokenFor(sessionId: string): string {
    return createHmac('sha256', this.key).update(sessionId).digest('base64url');
  }

  /** Throws a 403 unless the request comes from the public origin or carries the session's token. */
  check(req: Request, session: AuthSession | undefined): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin === this.publicOrigin) return;
    const token = req.headers['x-csrf-token'];
    if (session && typeof token === 'string' && origin === undefined) {
      const expected = Buffer.from(this.tokenFor(session.id));
      const given = Buffer.from(token);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return;
    }
    throw new HttpError(
      403,
      'AUTH_CROSS_SITE',
      origin === undefined
        ? 'Logout needs the Origin of this site or an X-CSRF-Token header.'
        : 'Logout came from another origin.',
    );
  }
}

/**
 * `POST logout`: ends the session on the server, clears the cookie, and sends the browser on
 * with a 303: to the OP's `end_session_endpoint` (with `id_token_hint`, `client_id` and
 * `post_logout_redirect_uri`) when the session's provider has one, else to `/`. A caller that
 * asks for JSON gets `{ signedOut, location }` instead, and goes there itself.
 */
export function logoutHandler(deps: {
  sessions: Sessions;
  flow: LoginFlow;
  guard: LogoutGuard;
  publicUrl: string;
  logger: Logger;
}) {
  return async (req: Request, res: Response): Promise<void> => {
    const current = await deps.sessions.read(req);
    deps.guard.check(req, current);
    const ended = await deps.sessions.end(req, res);
    res.setHeader('cache-control', 'no-store');
    if (ended) deps.logger.info({ user: ended.user.id, session: ended.id }, 'user signed out');
    const location = (ended && endSessionUrl(deps.flow, ended, deps.publicUrl)) ?? '/';
    // A script (fetch) can't follow a cross-origin 303 under a same-origin CSP: it asks for JSON
    // and sends the browser on itself, so the provider's session ends too.
    if (wantsJson(req)) res.json({ signedOut: ended !== undefined, location });
    else res.redirect(303, location);
  };
}

/** `Accept: application/json` without HTML: a script's call rather than a form's navigation. */
function wantsJson(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

function endSessionUrl(flow: LoginFlow, session: AuthSession, publicUrl: string) {
  const login = flow.oidc.find((entry) => entry.provider.name === session.user.provider);
  const endpoint = login?.client.serverMetadata().end_session_endpoint;
  if (!login || !endpoint) return undefined;
  const url = new URL(endpoint);
  if (session.idToken) url.searchParams.set('id_token_hint', session.idToken);
  url.searchParams.set('client_id', login.settings.clientId);
  url.searchParams.set('post_logout_redirect_uri', new URL('/', publicUrl).href);
  return url.href;
}
