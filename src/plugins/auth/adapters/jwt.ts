import type { AuthProvider, JsonWebKeyLike, ProviderKeys } from '../types.js';
import {
  HMAC_ALGORITHMS,
  MIN_SECRET_BYTES,
  PUBLIC_KEY_ALGORITHMS,
  nameList,
  publicJwkOf,
  secretBytes,
  urlProblems,
  userOf,
  type AdapterProblem,
} from './shared.js';

export interface JwtAdapterOptions {
  /** The exact `iss` of the tokens. */
  issuer: string;
  /** The `aud` tokens must carry (one of these, when several). */
  audience: string | readonly string[];
  /** The issuer's JWK Set (https; http only on 127.0.0.1/localhost). One key source only. */
  jwksUrl?: string;
  /** An HMAC secret of at least 32 bytes, for HS256/384/512. */
  secret?: string | Uint8Array;
  /** Public keys: PEM (SPKI) text or JWKs. */
  publicKeys?: readonly (string | JsonWebKeyLike)[];
  /** Accepted algorithms, pinned: RS256, PS256, ES256, EdDSA, HS256 ... (never `none`). */
  algorithms: readonly string[];
  /** The claim that lists roles (an array, or a space-separated string). Default `roles`. */
  rolesClaim?: string;
  /** The claim that lists permissions. Default `permissions`. */
  permissionsClaim?: string;
  /** Claims a token must have beyond `exp`, `iat` and `sub`. */
  requiredClaims?: readonly string[];
  /** Provider name, the prefix of user ids (`jwt|<sub>`). Default `jwt`. */
  name?: string;
  /** Oldest `iat` accepted, in seconds. Default one day. */
  maxTokenAge?: number;
}

function keysOf(options: JwtAdapterOptions, problems: AdapterProblem[]): ProviderKeys {
  const given = (['jwksUrl', 'secret', 'publicKeys'] as const).filter(
    (source) => options[source] !== undefined,
  );
  if (given.length !== 1)
    problems.push({
      option: given[1] ?? 'jwksUrl',
      message:
        given.length === 0
          ? 'a key source is required: jwksUrl, secret or publicKeys'
          : `one key source only (got ${given.join(' and ')})`,
    });
  if (options.secret !== undefined) {
    const secret = secretBytes(options.secret);
    if (secret.byteLength < MIN_SECRET_BYTES)
      problems.push({
        option: 'secret',
        message: `at least ${MIN_SECRET_BYTES} bytes (got ${secret.byteLength}): a short HMAC secret can be guessed offline from one token`,
      });
    return { secret };
  }
  if (options.publicKeys !== undefined) {
    if (options.publicKeys.length === 0)
      problems.push({ option: 'publicKeys', message: 'at least one key' });
    options.publicKeys.forEach((key, index) => {
      try {
        publicJwkOf(key);
      } catch (error) {
        problems.push({
          option: `publicKeys.${index}`,
          message: `a PEM (SPKI) public key or a public JWK: ${(error as Error).message}`,
        });
      }
    });
    return { publicKeys: options.publicKeys };
  }
  if (options.jwksUrl !== undefined) problems.push(...urlProblems(options.jwksUrl, 'jwksUrl'));
  return { jwksUrl: options.jwksUrl ?? '' };
}

function algorithmProblems(algorithms: readonly string[], keys: ProviderKeys): AdapterProblem[] {
  if (algorithms.length === 0) return [{ option: 'algorithms', message: 'at least one algorithm' }];
  const symmetric = 'secret' in keys;
  return algorithms.flatMap((algorithm) => {
    if (HMAC_ALGORITHMS.includes(algorithm) && !symmetric)
      return [
        {
          option: 'algorithms',
          message: `${algorithm} needs a secret: with a public key it would let anyone who has that key sign tokens`,
        },
      ];
    if (PUBLIC_KEY_ALGORITHMS.includes(algorithm) && symmetric)
      return [
        { option: 'algorithms', message: `${algorithm} needs jwksUrl or publicKeys, not a secret` },
      ];
    if (!HMAC_ALGORITHMS.includes(algorithm) && !PUBLIC_KEY_ALGORITHMS.includes(algorithm))
      return [
        {
          option: 'algorithms',
          message: `"${algorithm}" is not a signature algorithm accepted here (RS*, PS*, ES*, EdDSA, HS*; never "none")`,
        },
      ];
    return [];
  });
}

/**
 * Tokens of any JWT issuer: keys from a JWKS URL, an HMAC secret or configured public keys,
 * with pinned algorithms. Roles and permissions from configurable claims.
 * @example jwtAdapter({ issuer: 'https://id.example.com', audience: 'api', jwksUrl: 'https://id.example.com/jwks.json', algorithms: ['ES256'] })
 */
export function jwtAdapter(options: JwtAdapterOptions): AuthProvider {
  const problems: AdapterProblem[] = [];
  if (typeof options.issuer !== 'string' || options.issuer === '')
    problems.push({ option: 'issuer', message: 'required: the exact "iss" of the tokens' });
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((aud) => aud === ''))
    problems.push({ option: 'audience', message: 'required: the "aud" tokens must carry' });
  const keys = keysOf(options, problems);
  const algorithms = options.algorithms ?? [];
  problems.push(...algorithmProblems(algorithms, keys));
  const name = options.name ?? 'jwt';
  const rolesClaim = options.rolesClaim ?? 'roles';
  const permissionsClaim = options.permissionsClaim ?? 'permissions';
  return {
    name,
    kind: 'jwt',
    issuer: options.issuer,
    audience: options.audience,
    algorithms,
    keys,
    requiredClaims: options.requiredClaims,
    maxTokenAge: options.maxTokenAge ?? 86_400,
    toUser: (payload) =>
      userOf(name, payload, {
        roles: nameList(payload[rolesClaim]),
        permissions: nameList(payload[permissionsClaim]),
      }),
    problems,
  };
}
