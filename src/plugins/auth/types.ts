import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import type { EdgeIdentity } from '../../core/edge.js';

/**
 * The verified user, one shape for every provider: `{ id, provider, issuer, subject, email,
 * name, roles, permissions, claims }`. It is the edge pipeline's identity, so hooks of other
 * plugins (rate limits per user, permission guards) read it without importing this plugin.
 */
export type AuthUser = EdgeIdentity;

/**
 * A sign-in hook (`ctx.get('auth').onSignIn(hook)`): runs once a login is verified and before
 * its session starts, in registration order, each seeing the user the one before answered. It
 * answers the user to start the session with (enriched or as it came), or `{ refuse: reason }`:
 * the login then ends in a 403 `AUTH_SIGN_IN_REFUSED` whose detail is the reason.
 */
export type SignInHook = (user: AuthUser) => Promise<AuthUser | { refuse: string }>;

/**
 * An identify check (`ctx.get('auth').onIdentify(check)`): runs, synchronously, for every caller
 * the auth plugin identifies (bearer token, session, forwarded identity) before the identity is
 * settled. It answers a reason to refuse the caller (a disabled user), or undefined. The caller
 * then has no identity: 403 `AUTH_IDENTITY_REFUSED` where a route needs one, anonymous elsewhere,
 * as a refused token. It runs on every request, so it must answer from memory.
 */
export type IdentifyCheck = (user: AuthUser) => string | undefined;

/** The login flow an adapter offers, beside bearer tokens. */
export type ProviderLogin =
  | {
      /** OpenID Connect authorization code with PKCE S256, state and nonce (Auth0, any OP). */
      kind: 'oidc';
      /** The OP's issuer, discovered at `<issuer>/.well-known/openid-configuration`. */
      issuer: string;
      clientId: string;
      clientSecret?: string;
      /** Sent as `audience` on the authorization request (Auth0: the API's identifier). */
      audience?: string;
      scope: string;
    }
  | {
      /** Email and password against Supabase's `/auth/v1/token?grant_type=password`. */
      kind: 'supabase-password';
      url: string;
      anonKey: string;
    };

/** Where a provider's verification keys come from. */
export type ProviderKeys =
  /** A remote JWK Set, fetched and cached (bounded refetch on unknown `kid`s). */
  | {
      jwksUrl: string;
      /** Supabase legacy HS256: used when the fetched set is empty. */ fallbackSecret?: Uint8Array;
    }
  /** A shared HMAC secret of at least 32 bytes (HS256/384/512). */
  | { secret: Uint8Array }
  /** Public keys given in configuration (PEM SPKI or JWK). */
  | { publicKeys: readonly (string | JsonWebKeyLike)[] };

export interface JsonWebKeyLike {
  kty: string;
  kid?: string;
  alg?: string;
  [member: string]: unknown;
}

/**
 * What every adapter (`auth0Adapter`, `supabaseAdapter`, `jwtAdapter`, `gatewayAdapter`) returns:
 * how its tokens are verified and turned into a user. Plain data plus one mapping function, so
 * the auth plugin verifies every provider with one verifier.
 */
export interface AuthProvider {
  /** Unique per app; the first part of every user id it makes (`auth0|<sub>`). */
  name: string;
  kind: 'auth0' | 'supabase' | 'jwt' | 'gateway';
  /** The exact `iss` its tokens carry (Auth0: `https://DOMAIN/`, with the slash). */
  issuer: string;
  /** The `aud` its tokens must carry (one of them, when `aud` is an array). */
  audience: string | readonly string[];
  /** Pinned algorithms; a token with any other `alg` is refused before its key is looked up. */
  algorithms: readonly string[];
  keys: ProviderKeys;
  /**
   * Where its tokens come from: unset, `Authorization: Bearer`; else a request header of its own
   * that is read instead (the gateway's forwarded identity, `x-qwickapps-identity`), so a token
   * meant for one place is never taken from the other.
   */
  header?: string;
  /** Claims a token must have beyond `exp`, `iat` and `sub`. */
  requiredClaims?: readonly string[];
  /**
   * Oldest `iat` accepted, in seconds: bounds a token whose `exp` is far off, and turns on the
   * check that `iat` is not in the future. Default one day.
   */
  maxTokenAge?: number;
  /**
   * The verified payload as a user, or a refusal (`{ refused: 'a Supabase anon key is not a
   * user login' }`). Roles come from trusted claims only.
   */
  toUser(payload: JWTPayload): AuthUser | { refused: string };
  /** The interactive login, when the adapter has one. */
  login?: ProviderLogin;
  /**
   * Option problems found when the adapter was made (`audience` missing for Auth0, an HMAC
   * secret under 32 bytes), each naming the option: start-up fails with all of them.
   */
  problems: readonly { option: string; message: string }[];
}

/**
 * Why a token or session was refused: the code of the 401 the client gets, or of the 503 when
 * the provider's key set could not be fetched (`AUTH_PROVIDER_UNAVAILABLE`: not the client's
 * fault, so it must not drop its token).
 */
export type AuthRefusal =
  | 'AUTH_TOKEN_MISSING'
  | 'AUTH_TOKEN_INVALID'
  | 'AUTH_TOKEN_EXPIRED'
  | 'AUTH_TOKEN_TOO_LARGE'
  | 'AUTH_SESSION_EXPIRED'
  | 'AUTH_IDENTITY_REFUSED'
  | 'AUTH_PROVIDER_UNAVAILABLE';

/** Verifies bearer tokens against every configured provider (one verifier per app). */
export interface TokenVerifier {
  /**
   * The user a token stands for. Rejects with an `AuthTokenError` carrying an `AuthRefusal`
   * code; the reason itself goes to the log, never to the client. Results are cached by token
   * until the token expires (bounded), so a repeat costs a map lookup.
   */
  verify(token: string): Promise<AuthUser>;
}

/** A signed-in browser session, on the server (cache plugin) or in an encrypted cookie. */
export interface AuthSession {
  id: string;
  user: AuthUser;
  /** Epoch ms. */
  createdAt: number;
  lastSeenAt: number;
  /** Provider tokens kept for logout at the provider and refresh (server sessions only). */
  idToken?: string;
  refreshToken?: string;
}

export interface SessionManager {
  /** Starts a session with a new id (never the one the request came with) and sets the cookie. */
  start(
    req: IncomingMessage,
    res: ServerResponse,
    user: AuthUser,
    tokens?: { idToken?: string; refreshToken?: string },
  ): Promise<AuthSession>;
  /** The request's session if its cookie is valid and neither timeout has passed; touches it. */
  read(req: IncomingMessage): Promise<AuthSession | undefined>;
  /** Ends the request's session on the server and clears the cookie. */
  end(req: IncomingMessage, res: ServerResponse): Promise<AuthSession | undefined>;
  /** A user's live sessions, for the admin list. */
  listFor(userId: string): Promise<AuthSession[]>;
  /** Ends one session (admin revoke, back-channel logout); false when unknown. */
  revoke(sessionId: string): Promise<boolean>;
  /** Ends every session of a user at once (revocation, a disabled user). */
  revokeUser(userId: string): Promise<number>;
  /** Cookie names the gateway must never forward upstream. */
  readonly cookieNames: readonly string[];
}
