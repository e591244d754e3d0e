import type { NextFunction, Request, Response } from 'express';
import { decodeJwt } from 'jose';
import type { Logger } from 'pino';
import type {
  Configuration,
  TokenEndpointResponse,
  TokenEndpointResponseHelpers,
} from 'openid-client';
import { HttpError } from '../../core/errors.js';
import type { LoginLimiter } from './login-limit.js';
import { LoginTransactions, safeReturnTo, STRATEGY_KEY } from './login-transaction.js';
import type { AuthConfig } from './options.js';
import type { Sessions } from './sessions.js';
import type { AuthProvider, AuthUser, ProviderLogin } from './types.js';

type OidcSettings = Extract<ProviderLogin, { kind: 'oidc' }>;
type PasswordSettings = Extract<ProviderLogin, { kind: 'supabase-password' }>;

/** An OIDC provider once its OP is discovered. */
export interface OidcLogin {
  provider: AuthProvider;
  settings: OidcSettings;
  /** openid-client's configuration: the discovered metadata and the client. */
  client: Configuration;
}

export interface LoginFlowDeps {
  config: AuthConfig;
  /** The public origin (`https://app.example.com`): redirect URIs and `returnTo` are under it. */
  publicUrl: string;
  sessions: Sessions;
  limiter: LoginLimiter;
  /** Verifies an access token with the provider's keys (the plugin's TokenVerifier). */
  verifyToken(token: string): Promise<AuthUser>;
  /** The client's address under the app's one `trustProxy` (`ctx.app.clients.of`). */
  clientOf(req: Request): string;
  logger: Logger;
  /** Longest an OP may take to answer discovery or a token request. Default 10 s. */
  timeout?: number;
  /** The sign-in hooks: the user to start the session with; rejects with a 403 to refuse. */
  signIn?(user: AuthUser): Promise<AuthUser>;
}

/** The login, callback and password-login handlers, and what logout needs of the OPs. */
export interface LoginFlow {
  start(req: Request, res: Response, next: NextFunction): Promise<void>;
  callback(req: Request, res: Response, next: NextFunction): Promise<void>;
  password(req: Request, res: Response): Promise<void>;
  /** The discovered OIDC providers, for logout and back-channel logout. */
  readonly oidc: readonly OidcLogin[];
  /** Whether any provider logs in with a password (the login route then takes POST). */
  readonly hasPassword: boolean;
}

/** What the strategy's verify step hands the callback. */
interface Verified {
  user: AuthUser;
  idToken?: string;
  refreshToken?: string;
  sid?: string;
}

/** Is `loopback` an address of this machine: the only place an OP over plain http is allowed. */
const isLoopback = (url: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

/**
 * Builds the login flow. Every OIDC provider is discovered here, at start-up: one that cannot
 * be discovered fails start-up naming it, since a gateway whose login cannot work is a
 * misconfiguration to fix, not a state to serve in. The openid-client strategy runs on a
 * private Passport instance, so two apps in one process never share strategies.
 * @example const flow = await createLoginFlow({ config, publicUrl, sessions, limiter, verifyToken, logger })
 */
export async function createLoginFlow(deps: LoginFlowDeps): Promise<LoginFlow> {
  const { config, publicUrl, sessions, limiter, logger } = deps;
  const client = await import('openid-client');
  const { Strategy } = await import('openid-client/passport');
  const { Passport } = await import('passport');
  const passport = new Passport();
  const secrets = config.session.secret === undefined ? [] : [config.session.secret].flat();
  const transactions = new LoginTransactions(
    secrets,
    sessions.cookie.secure,
    sessions.store,
    logger,
  );
  const callbackUrl = new URL(config.routes.callback, publicUrl).href;

  /** The strategy's verify step: the tokens, already checked by openid-client, as a user. */
  async function toVerified(
    provider: AuthProvider,
    settings: OidcSettings,
    tokens: TokenEndpointResponse & TokenEndpointResponseHelpers,
  ): Promise<Verified | { refused: string }> {
    const idClaims = tokens.claims();
    if (!idClaims) return { refused: 'the provider sent no ID token' };
    let user: AuthUser;
    const accessAudience = audienceOf(tokens.access_token);
    if (settings.audience && accessAudience?.includes(settings.audience)) {
      // A JWT for our API: its claims (roles, permissions) are the ones the API trusts.
      user = await deps.verifyToken(tokens.access_token);
      if (user.subject !== idClaims.sub)
        return { refused: 'the ID and access tokens disagree on the subject' };
    } else {
      const mapped = provider.toUser(idClaims);
      if ('refused' in mapped) return mapped;
      user = mapped;
    }
    const profile = (name: string) =>
      typeof idClaims[name] === 'string' ? (idClaims[name] as string) : undefined;
    user = {
      ...user,
      email: user.email ?? profile('email'),
      name: user.name ?? profile('name'),
      claims: { ...idClaims, ...user.claims },
    };
    return {
      user,
      idToken: tokens.id_token,
      refreshToken: tokens.refresh_token,
      sid: typeof idClaims.sid === 'string' ? idClaims.sid : undefined,
    };
  }

  class LoginStrategy extends Strategy {
    constructor(
      discovered: Configuration,
      private readonly provider: AuthProvider,
      private readonly settings: OidcSettings,
      callbackURL: string,
    ) {
      super(
        {
          config: discovered,
          scope: settings.scope,
          callbackURL,
          sessionKey: STRATEGY_KEY,
          name: provider.name,
        },
        (tokens, done) => {
          toVerified(this.provider, this.settings, tokens).then(
            (verified) =>
              'refused' in verified
                ? done(null, false, { message: verified.refused })
                : // The callback's own handler takes this, never req.user (typed as the AuthUser).
                  done(null, verified as unknown as Express.User),
            (error: unknown) => done(error),
          );
        },
      );
    }

    /**
     * `state` and `nonce` on every request (the strategy sends neither when the OP supports
     * PKCE), and `audience` for Auth0's API access token. The strategy keeps whatever `state` and
     * `nonce` it finds here in its transaction and checks them on the way back.
     */
    override authorizationRequestParams<T extends object>(req: Request, options: T) {
      const params = new URLSearchParams(super.authorizationRequestParams(req, options as never));
      params.set('state', client.randomState());
      params.set('nonce', client.randomNonce());
      if (this.settings.audience) params.set('audience', this.settings.audience);
      return params;
    }
  }

  const oidc: OidcLogin[] = [];
  for (const provider of config.providers) {
    if (provider.login?.kind !== 'oidc') continue;
    const settings = provider.login;
    const issuer = new URL(settings.issuer);
    let discovered: Configuration;
    try {
      discovered = await retryingNetworkErrors(() =>
        client.discovery(issuer, settings.clientId, settings.clientSecret, undefined, {
          execute: isLoopback(issuer) ? [client.allowInsecureRequests] : [],
          timeout: Math.ceil((deps.timeout ?? 10_000) / 1000),
        }),
      );
    } catch (error) {
      throw new Error(
        `auth provider "${provider.name}": discovery at ${issuer.href} failed (${(error as Error).message}); check login.issuer and that the OP is reachable`,
        { cause: error },
      );
    }
    oidc.push({ provider, settings, client: discovered });
    passport.use(provider.name, new LoginStrategy(discovered, provider, settings, callbackUrl));
  }

  const runStrategy = (name: string, req: Request, res: Response) =>
    new Promise<Verified | undefined>((resolve, reject) => {
      const middleware = passport.authenticate(
        name,
        { session: false },
        (error: unknown, verified: Verified | false, info?: { message?: string }) => {
          if (error) return reject(error);
          if (!verified)
            return reject(
              new HttpError(403, 'AUTH_LOGIN_REFUSED', info?.message ?? 'The login was refused.'),
            );
          resolve(verified);
        },
      );
      // A redirect (the authorization request) ends the response without calling back.
      res.once('finish', () => resolve(undefined));
      middleware(req, res, reject);
    });

  function oidcFor(name: unknown): OidcLogin {
    const found =
      typeof name === 'string' && name
        ? oidc.find((entry) => entry.provider.name === name)
        : oidc[0];
    if (!found)
      throw new HttpError(
        400,
        'AUTH_LOGIN_INVALID_REQUEST',
        'No OpenID Connect provider has that name.',
      );
    return found;
  }

  return {
    oidc,
    hasPassword: config.providers.some((provider) => provider.login?.kind === 'supabase-password'),

    async start(req, res) {
      await limiter.address(res, deps.clientOf(req));
      const login = oidcFor(req.query.provider);
      const returnTo = safeReturnTo(req.query.returnTo, publicUrl);
      (req as { session?: unknown }).session = transactions.begin(
        res,
        login.provider.name,
        returnTo,
      );
      await runStrategy(login.provider.name, req, res);
    },

    async callback(req, res) {
      await limiter.address(res, deps.clientOf(req));
      const transaction = await transactions.complete(req, res);
      const login = oidcFor(transaction.provider);
      (req as { session?: unknown }).session = { [STRATEGY_KEY]: transaction[STRATEGY_KEY] };
      let verified: Verified | undefined;
      try {
        verified = await runStrategy(login.provider.name, req, res);
      } catch (error) {
        throw callbackError(error, login.provider.name, logger);
      }
      if (!verified) throw new HttpError(400, 'AUTH_LOGIN_FAILED', 'The login did not complete.');
      const user = deps.signIn ? await deps.signIn(verified.user) : verified.user;
      await sessions.start(req, res, user, {
        idToken: verified.idToken,
        refreshToken: verified.refreshToken,
        providerSession: verified.sid,
      });
      logger.info({ user: user.id, provider: login.provider.name }, 'user signed in');
      res.redirect(303, transaction.returnTo);
    },

    async password(req, res) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const provider = config.providers.find(
        (entry) =>
          entry.login?.kind === 'supabase-password' &&
          (typeof body.provider !== 'string' || body.provider === entry.name),
      );
      if (!provider || provider.login?.kind !== 'supabase-password')
        throw new HttpError(
          400,
          'AUTH_LOGIN_INVALID_REQUEST',
          'No password provider has that name.',
        );
      // Login CSRF: another site's form must not sign the browser in to an account of its choosing.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== new URL(publicUrl).origin)
        throw new HttpError(403, 'AUTH_CROSS_SITE', 'Login came from another origin.');
      const { email, password } = body;
      if (typeof email !== 'string' || typeof password !== 'string' || !email || !password)
        throw new HttpError(400, 'AUTH_LOGIN_INVALID_REQUEST', 'Send "email" and "password".');
      await limiter.address(res, deps.clientOf(req));
      await limiter.account(res, email);
      const tokens = await supabasePassword(
        provider.login,
        email,
        password,
        deps.timeout ?? 10_000,
      );
      let user: AuthUser;
      try {
        user = await deps.verifyToken(tokens.access_token);
      } catch (error) {
        logger.warn(
          { err: error, provider: provider.name },
          'supabase access token did not verify',
        );
        throw new HttpError(
          403,
          'AUTH_LOGIN_REFUSED',
          'The provider signed in a user this app cannot accept.',
        );
      }
      if (deps.signIn) user = await deps.signIn(user);
      await sessions.start(req, res, user, { refreshToken: tokens.refresh_token });
      logger.info({ user: user.id, provider: provider.name }, 'user signed in');
      res.status(200).json({ user, returnTo: safeReturnTo(body.returnTo, publicUrl) });
    },
  };
}

/** The `aud` of an access token that is a JWT (unverified: only to decide how to verify it). */
function audienceOf(token: string): string[] | undefined {
  try {
    const { aud } = decodeJwt(token);
    return aud === undefined ? undefined : [aud].flat();
  } catch {
    return undefined;
  }
}

/** A failed callback as the client sees it: what went wrong in words, the cause in the log only. */
function callbackError(error: unknown, provider: string, logger: Logger): HttpError {
  if (error instanceof HttpError) return error;
  // openid-client wraps the reason: "invalid response encountered", caused by the check that failed.
  const cause = (error as { cause?: { message?: unknown } }).cause?.message;
  const message = `${error instanceof Error ? error.message : String(error)} ${String(cause ?? '')}`;
  logger.warn({ err: error, provider }, 'login callback refused');
  if (/"state"|"iss"|nonce/.test(message))
    return new HttpError(
      400,
      'AUTH_LOGIN_STATE_INVALID',
      'This login does not belong to this browser. Sign in again.',
    );
  if (error instanceof TypeError || (error as { name?: string }).name === 'TimeoutError')
    return new HttpError(
      503,
      'AUTH_PROVIDER_UNAVAILABLE',
      `The identity provider "${provider}" did not answer.`,
    );
  return new HttpError(
    400,
    'AUTH_LOGIN_FAILED',
    'The identity provider did not confirm this login.',
  );
}

/** Supabase's password grant: its tokens, or a 401 for wrong credentials. */
async function supabasePassword(
  settings: PasswordSettings,
  email: string,
  password: string,
  timeout: number,
): Promise<{ access_token: string; refresh_token?: string }> {
  const url = new URL('/auth/v1/token?grant_type=password', settings.url);
  let response: globalThis.Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { apikey: settings.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
      signal: AbortSignal.timeout(timeout),
    });
  } catch (error) {
    throw new HttpError(503, 'AUTH_PROVIDER_UNAVAILABLE', 'Supabase did not answer.', {
      cause: error,
    });
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status === 400 || response.status === 401)
    throw new HttpError(401, 'AUTH_LOGIN_INVALID_CREDENTIALS', 'The email or password is wrong.');
  if (!response.ok || typeof body.access_token !== 'string')
    throw new HttpError(503, 'AUTH_PROVIDER_UNAVAILABLE', `Supabase answered ${response.status}.`);
  return {
    access_token: body.access_token,
    refresh_token: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
  };
}

/** Pauses before the second and third discovery attempts, in ms. */
const DISCOVERY_RETRIES = [200, 1_000];

/**
 * `attempt`, again after a pause when it failed before any answer came (a connection reset or
 * refused: a pooled connection the server had just closed, a provider restarting), at most
 * twice. An answer that is an error (404, bad metadata) is not retried: it will not change.
 */
async function retryingNetworkErrors<T>(attempt: () => Promise<T>): Promise<T> {
  for (const pause of DISCOVERY_RETRIES) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof TypeError) || (error as Error).message !== 'fetch failed') throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  return attempt();
}
