import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords for the built-in guard.
 *
 * A hash has the form `scrypt:N:r:p:salt:key` (salt and key in base64url); colons rather than
 * `$` so it survives shells and `.env` files unquoted. To make one, run in a Node REPL:
 *
 *   node --input-type=module -e "import('@qwickapps/server/plugins/control-panel').then(async (m) => console.log(await m.hashPassword('my secret')))"
 *
 * then set `ADMIN_PASSWORD_HASH` to the printed value.
 */

const KEY_LENGTH = 32;
const DEFAULT_COST = { N: 16_384, r: 8, p: 1 };
/** scrypt needs 128 * N * r bytes; allow the default cost and one step up. */
const MAX_MEMORY = 128 * 32_768 * 8 * 2;

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { ...options, maxmem: MAX_MEMORY }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * Hashes a password with scrypt (node:crypto), for `ADMIN_PASSWORD_HASH`.
 * @example const hash = await hashPassword('correct horse battery staple') // "scrypt:16384:8:1:..."
 */
export async function hashPassword(password: string, cost: { N?: number; r?: number; p?: number } = {}): Promise<string> {
  const { N, r, p } = { ...DEFAULT_COST, ...cost };
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_LENGTH, { N, r, p });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64url')}:${key.toString('base64url')}`;
}

/** True when `password` matches a `hashPassword()` hash; compares in constant time. */
export async function verifyPasswordHash(password: string, hash: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = hash.split(':');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

/**
 * Compares two strings in constant time whatever their lengths: both sides are first reduced to
 * HMAC digests of equal size under a per-process key, so neither length nor content leaks.
 */
export function createConstantTimeComparer(): (given: string, expected: string) => boolean {
  const key = randomBytes(32);
  const digest = (value: string) => createHmac('sha256', key).update(value).digest();
  return (given, expected) => timingSafeEqual(digest(given), digest(expected));
}

/** A password for development when none is configured; shown once at start. */
export function generateOneTimePassword(): string {
  return randomBytes(12).toString('base64url');
}
