import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose';
import type { Logger } from 'pino';
import { ConfigError, HttpError } from '../../core/errors.js';
import { HMAC_ALGORITHMS, publicJwkOf } from './adapters/shared.js';
import type { AuthProvider, AuthRefusal, AuthUser, TokenVerifier } from './types.js';

/** The `tokens` options block (`AuthConfig['tokens']`), plus what tests and callers inject. */
export interface TokenVerifierOptions {
  /** Longer tokens are refused before any parsing. */
  maxBytes: number;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in ms. */
  clockTolerance: number;
  /** Verified tokens remembered until they expire, at most this many (0: none). */
  cacheSize: number;
  /** Least time between two key-set refetches for unknown `kid`s, in ms. */
  jwksCooldown: number;
  /** A key-set fetch that takes longer fails, in ms. */
  jwksTimeout: number;
  /** A fetched key set is fetched again after this long, in ms. Default 10 minutes. */
  jwksMaxAge?: number;
  /** Refusal reasons go here at debug level, with the provider's name; never the token. */
  logger?: Pick<Logger, 'debug'>;
  /** Epoch ms. Default `Date.now`. */
  clock?: () => number;
}

const CLIENT_MESSAGES: Record<AuthRefusal, string> = {
  AUTH_TOKEN_MISSING: 'A bearer token is required.',
  AUTH_TOKEN_INVALID: 'The bearer token is not valid.',
  AUTH_TOKEN_EXPIRED: 'The bearer token has expired.',
  AUTH_TOKEN_TOO_LARGE: 'The bearer token is too large.',
  AUTH_SESSION_EXPIRED: 'The session has expired; sign in again.',
  AUTH_IDENTITY_REFUSED: 'This account may not use the service.',
  AUTH_PROVIDER_UNAVAILABLE: "The token issuer's keys could not be fetched; try again shortly.",
};

/**
 * A refused token: an `HttpError` whose message is safe for the client. Why it was refused is
 * logged by the verifier and kept in `reason` for the caller's own log, never sent.
 */
export class AuthTokenError extends HttpError {
  declare readonly code: AuthRefusal;
  readonly reason: string;
  constructor(status: 401 | 503, code: AuthRefusal, reason: string) {
    super(status, code, CLIENT_MESSAGES[code]);
    this.name = 'AuthTokenError';
    this.reason = reason;
  }
}

const refuse = (code: Exclude<AuthRefusal, 'AUTH_PROVIDER_UNAVAILABLE'>, reason: string) =>
  new AuthTokenError(401, code, reason);

/** Three base64url parts; a JWE (five parts) or anything with other characters is no JWS. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Header members that would have us fetch or trust a key the token itself names. */
const KEY_POINTERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/** Why the header alone refuses the token, before any key is looked up. */
function headerRefusal(header: ProtectedHeaderParameters): string | undefined {
  if (typeof header.alg !== 'string' || header.alg === 'none') return 'unsigned token (alg none)';
  const pointer = KEY_POINTERS.find((member) => member in header);
  if (pointer) return `the header names its own key (${pointer}); keys come from configuration`;
  if (header.crit !== undefined) return 'a critical header extension (crit) is not supported';
  const { kid } = header;
  if (kid === undefined) return undefined;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256 || /[^\x21-\x7e]/.test(kid))
    return 'kid is not a short printable string';
  if (/[/\\]|\.\./.test(kid)) return 'kid looks like a path';
  return undefined;
}

type KeySource = JWTVerifyGetKey | Uint8Array;

function keySourceOf(provider: AuthProvider, options: TokenVerifierOptions): KeySource {
  const { keys } = provider;
  if ('secret' in keys) return keys.secret;
  if ('publicKeys' in keys) return createLocalJWKSet({ keys: keys.publicKeys.map(publicJwkOf) });
  const remote = createRemoteJWKSet(new URL(keys.jwksUrl), {
    timeoutDuration: options.jwksTimeout,
    cooldownDuration: options.jwksCooldown,
    cacheMaxAge: options.jwksMaxAge ?? 600_000,
  });
  const fallback = keys.fallbackSecret;
  if (fallback === undefined) return remote;
  // Supabase's legacy projects publish an empty set and sign with HS256. The secret is used
  // only while the set is empty, so a project that moved to signing keys can't be downgraded.
  return async (header, token) => {
    if (!HMAC_ALGORITHMS.includes(header.alg)) return remote(header, token);
    if (!remote.fresh) await remote.reload();
    if (remote.jwks()?.keys.length !== 0)
      throw refuse(
        'AUTH_TOKEN_INVALID',
        `${header.alg} token, but the issuer publishes signing keys`,
      );
    return fallback;
  };
}

interface JoseError {
  code?: string;
  message?: string;
}

/** The refusal a failed verification stands for; key-set outages are not the client's fault. */
function refusalOf(error: unknown): AuthTokenError {
  if (error instanceof AuthTokenError) return error;
  const { code, message = String(error) } = (error ?? {}) as JoseError;
  if (code === 'ERR_JWT_EXPIRED') return refuse('AUTH_TOKEN_EXPIRED', message);
  const outage =
    code === 'ERR_JWKS_TIMEOUT' ||
    code === 'ERR_JWKS_INVALID' ||
    message === 'fetch failed' ||
    message.includes('JSON Web Key Set HTTP response');
  if (outage) return new AuthTokenError(503, 'AUTH_PROVIDER_UNAVAILABLE', message);
  return refuse('AUTH_TOKEN_INVALID', message);
}

/** jose leaves several matching keys (no `kid`) to the caller: try each, in order. */
async function verifyWith(token: string, key: KeySource, options: JWTVerifyOptions) {
  try {
    return typeof key === 'function'
      ? await jwtVerify(token, key, options)
      : await jwtVerify(token, key, options);
  } catch (error) {
    if ((error as JoseError).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    for await (const candidate of error as AsyncIterable<CryptoKey>) {
      try {
        return await jwtVerify(token, candidate, options);
      } catch (inner) {
        if ((inner as JoseError).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw inner;
      }
    }
    throw refuse('AUTH_TOKEN_INVALID', 'no configured key verifies the signature');
  }
}

interface Verification {
  provider: AuthProvider;
  key: KeySource;
  options: JWTVerifyOptions;
}

function verificationOf(provider: AuthProvider, options: TokenVerifierOptions): Verification {
  return {
    provider,
    key: keySourceOf(provider, options),
    options: {
      issuer: provider.issuer,
      audience: [provider.audience].flat(),
      algorithms: [...provider.algorithms],
      requiredClaims: ['exp', 'iat', 'sub', ...(provider.requiredClaims ?? [])],
      clockTolerance: options.clockTolerance / 1000,
      maxTokenAge: provider.maxTokenAge ?? 86_400,
    },
  };
}

/** Adapters' problems and duplicate issuers, as one start-up error naming each. */
function checkProviders(providers: readonly AuthProvider[]): void {
  const issues = providers.flatMap((provider, index) =>
    provider.problems.map((problem) => ({
      name: `providers.${index}.${problem.option}`,
      received: `the options of provider "${provider.name}"`,
      expected: problem.message,
    })),
  );
  const seen = new Map<string, string>();
  providers.forEach((provider, index) => {
    const other = seen.get(provider.issuer);
    if (other !== undefined)
      issues.push({
        name: `providers.${index}.issuer`,
        received: `"${provider.issuer}", also the issuer of provider "${other}"`,
        expected: 'one provider per issuer (give one provider several audiences instead)',
      });
    seen.set(provider.issuer, provider.name);
  });
  if (issues.length > 0) throw new ConfigError(issues);
}

/**
 * One verifier for every provider: the token's `iss` picks the provider (exactly), whose pinned
 * algorithms, issuer, audience and keys jose then checks. Verified users are cached by token
 * until the token's `exp` (bounded LRU), so a repeat costs a map lookup.
 * @example const user = await createTokenVerifier([auth0Adapter(options)], config.tokens).verify(token)
 */
export function createTokenVerifier(
  providers: readonly AuthProvider[],
  options: TokenVerifierOptions,
): TokenVerifier {
  checkProviders(providers);
  const clock = options.clock ?? Date.now;
  const byIssuer = new Map<string, Verification>();
  for (const provider of providers)
    byIssuer.set(provider.issuer, verificationOf(provider, options));
  /** Token to user and the epoch ms it expires; Map order is recency (LRU). */
  const cache = new Map<string, { user: AuthUser; expiresAt: number }>();

  const refused = (error: AuthTokenError, provider: string | undefined): never => {
    options.logger?.debug({ provider, code: error.code, reason: error.reason }, 'token refused');
    throw error;
  };

  function remember(token: string, user: AuthUser, exp: number): void {
    if (options.cacheSize === 0) return;
    cache.set(token, { user, expiresAt: exp * 1000 });
    if (cache.size > options.cacheSize) cache.delete(cache.keys().next().value!);
  }

  async function verify(token: string): Promise<AuthUser> {
    if (typeof token !== 'string' || token === '')
      return refused(refuse('AUTH_TOKEN_MISSING', 'no token'), undefined);
    if (token.length > options.maxBytes)
      return refused(
        refuse('AUTH_TOKEN_TOO_LARGE', `${token.length} bytes, over ${options.maxBytes}`),
        undefined,
      );
    const cached = cache.get(token);
    if (cached !== undefined) {
      cache.delete(token);
      if (clock() < cached.expiresAt) {
        cache.set(token, cached);
        return cached.user;
      }
    }
    if (!COMPACT_JWS.test(token))
      return refused(refuse('AUTH_TOKEN_INVALID', 'not a compact JWS'), undefined);
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch (error) {
      return refused(refusalOf(error), undefined);
    }
    const verification = typeof claims.iss === 'string' ? byIssuer.get(claims.iss) : undefined;
    if (verification === undefined)
      return refused(
        refuse('AUTH_TOKEN_INVALID', `unknown issuer ${JSON.stringify(claims.iss)?.slice(0, 200)}`),
        undefined,
      );
    const { provider } = verification;
    const headerReason = headerRefusal(header);
    if (headerReason !== undefined)
      return refused(refuse('AUTH_TOKEN_INVALID', headerReason), provider.name);
    if (!provider.algorithms.includes(header.alg!))
      return refused(
        refuse(
          'AUTH_TOKEN_INVALID',
          `alg ${header.alg} is not one of ${provider.algorithms.join(', ')}`,
        ),
        provider.name,
      );
    let payload: JWTPayload;
    try {
      ({ payload } = await verifyWith(token, verification.key, {
        ...verification.options,
        currentDate: new Date(clock()),
      }));
    } catch (error) {
      return refused(refusalOf(error), provider.name);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      return refused(refuse('AUTH_TOKEN_INVALID', 'sub is empty'), provider.name);
    const user = provider.toUser(payload);
    if ('refused' in user)
      return refused(refuse('AUTH_TOKEN_INVALID', user.refused), provider.name);
    const frozen = Object.freeze(user);
    remember(token, frozen, payload.exp!);
    return frozen;
  }

  return { verify };
}
