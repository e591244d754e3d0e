import type { Request, Response } from 'express';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { LoginFlow, OidcLogin } from './login.js';
import type { Sessions } from './sessions.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token issued longer ago than this is refused (and its `jti` is remembered as long). */
const MAX_AGE_SECONDS = 120;
const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * `POST backchannelLogout`: OpenID Connect Back-Channel Logout 1.0. The OP posts a
 * `logout_token` when a user's session there ends; it must verify with the OP's keys, name the
 * OP as `iss` and our client as `aud`, have `typ: logout+jwt`, the back-channel event, `sub` or
 * `sid`, no `nonce`, a recent `iat`, and a `jti` not seen before. Then the matching sessions end.
 */
export function backchannelHandler(deps: { flow: LoginFlow; sessions: Sessions; logger: Logger }) {
  const keySets = new Map<OidcLogin, ReturnType<typeof createRemoteJWKSet>>();
  const keysOf = (login: OidcLogin) => {
    let keys = keySets.get(login);
    if (!keys) {
      const url = login.client.serverMetadata().jwks_uri;
      if (!url) throw new Error(`auth provider "${login.provider.name}" publishes no jwks_uri`);
      keys = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000 });
      keySets.set(login, keys);
    }
    return keys;
  };

  const refuse = (why: string, logger: Logger): never => {
    logger.warn({ why }, 'back-channel logout token refused');
    throw new HttpError(400, 'AUTH_LOGOUT_TOKEN_INVALID', `The logout token is not valid: ${why}.`);
  };

  return async (req: Request, res: Response): Promise<void> => {
    const token = (req.body as Record<string, unknown> | undefined)?.logout_token;
    if (typeof token !== 'string' || token.length > 8_192) refuse('no logout_token', deps.logger);
    let claimedIssuer: unknown;
    try {
      claimedIssuer = decodeJwt(token as string).iss;
    } catch {
      refuse('not a JWT', deps.logger);
    }
    const login = deps.flow.oidc.find(
      (entry) => entry.client.serverMetadata().issuer === claimedIssuer,
    );
    if (!login) return refuse('unknown issuer', deps.logger);
    const metadata = login.client.serverMetadata();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token as string, keysOf(login), {
        issuer: metadata.issuer,
        audience: login.settings.clientId,
        typ: 'logout+jwt',
        algorithms: [...(metadata.id_token_signing_alg_values_supported ?? ['RS256'])].filter(
          (alg) => alg !== 'none' && !alg.startsWith('HS'),
        ),
        requiredClaims: ['iat', 'jti', 'events'],
        maxTokenAge: MAX_AGE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      return refuse((error as Error).message, deps.logger);
    }
    const events = payload.events as Record<string, unknown> | undefined;
    if (typeof events !== 'object' || events === null || typeof events[LOGOUT_EVENT] !== 'object')
      refuse('no back-channel logout event', deps.logger);
    if ('nonce' in payload) refuse('it carries a nonce', deps.logger);
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (!sid && !sub) refuse('neither sub nor sid', deps.logger);
    if (typeof payload.jti !== 'string') refuse('no jti', deps.logger);
    const seen = `j:${metadata.issuer}\n${payload.jti as string}`;
    if (await deps.sessions.store.get(seen)) refuse('replayed', deps.logger);
    await deps.sessions.store.set(seen, true, (MAX_AGE_SECONDS + CLOCK_TOLERANCE_SECONDS) * 2_000);

    const issuer = login.provider.issuer;
    const ended = sid
      ? await deps.sessions.revokeProviderSession(issuer, sid)
      : await deps.sessions.revokeSubject(issuer, sub!);
    deps.logger.info({ provider: login.provider.name, ended }, 'back-channel logout');
    res.setHeader('cache-control', 'no-store');
    res.status(200).end();
  };
}
