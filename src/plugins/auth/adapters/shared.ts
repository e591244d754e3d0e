import { createPublicKey } from 'node:crypto';
import type { JWK, JWTPayload } from 'jose';
import type { AuthUser, JsonWebKeyLike } from '../types.js';

/** An option problem an adapter found: start-up fails naming each (`providers.0.audience`). */
export interface AdapterProblem {
  option: string;
  message: string;
}

/** Signature algorithms with a public key; `EdDSA` and `Ed25519` are the two names of Ed25519. */
export const PUBLIC_KEY_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** HMAC algorithms: the verifier holds the same secret the issuer signs with. */
export const HMAC_ALGORITHMS: readonly string[] = ['HS256', 'HS384', 'HS512'];

/** HMAC keys shorter than this are refused at start-up (RFC 7518 §3.2 asks at least the hash size). */
export const MIN_SECRET_BYTES = 32;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Problems with a URL keys or tokens come from: it must be https, except on this machine
 * (`http://127.0.0.1:port`, `http://localhost:port`), where development servers and test
 * stand-ins run. Plain http elsewhere would let anyone on the path swap the keys.
 */
export function urlProblems(value: string, option: string): AdapterProblem[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ option, message: `not a URL (got "${value}"): expected https://host/...` }];
  }
  if (url.protocol === 'https:') return [];
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return [];
  return [
    {
      option,
      message: `"${value}" is not https: keys and tokens over plain http can be swapped on the way (http is allowed on 127.0.0.1 and localhost only, for development)`,
    },
  ];
}

/** The bytes of an HMAC secret given as text (UTF-8) or bytes. */
export function secretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

/** A claim that lists names: an array of strings, or one space-separated string (OAuth `scope`). */
export function nameList(value: unknown): string[] {
  const names = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  return [
    ...new Set(names.filter((name): name is string => typeof name === 'string' && name !== '')),
  ];
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The user shape every adapter returns. The id joins the provider's name and `sub`, so two
 * providers' subjects never collide and email alone never identifies anyone (ASVS V10.3.3).
 */
export function userOf(
  provider: string,
  payload: JWTPayload,
  access: { roles: readonly string[]; permissions: readonly string[]; name?: string },
): AuthUser {
  const subject = payload.sub!;
  return {
    id: `${provider}|${subject}`,
    provider,
    issuer: payload.iss!,
    subject,
    email: text(payload.email),
    name: access.name ?? text(payload.name),
    roles: access.roles,
    permissions: access.permissions,
    claims: payload,
  };
}

export { text as textClaim };

/**
 * A configured public key as a public JWK: PEM (SPKI, or a private key whose public half is
 * taken) through node:crypto; a JWK's private members are dropped. Throws on a key it can't read.
 */
export function publicJwkOf(key: string | JsonWebKeyLike): JWK {
  if (typeof key === 'string') return createPublicKey(key).export({ format: 'jwk' }) as JWK;
  if (key.kty === 'oct') throw new TypeError('a symmetric (oct) key is no public key: use secret');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicMembers } = key;
  return publicMembers as JWK;
}
