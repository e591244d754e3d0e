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

interface ParsedHash {
  cost: { N: number; r: number; p: number };
  salt: Buffer;
  key: Buffer;
}

/** Shortest salt and key accepted: a key of a few bytes (or none) would match almost any password. */
const MIN_SALT_BYTES = 8;
const MIN_KEY_BYTES = 16;

function parseHash(hash: string): ParsedHash | string {
  const parts = hash.split(':');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'a hash made by hashPassword(): scrypt:N:r:p:salt:key';
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^\d{1,10}$/.test(part) ? Number(part) : Number.NaN));
  if (!(N > 1) || (N & (N - 1)) !== 0) return `an scrypt cost N that is a power of two above 1 (got ${parts[1]})`;
  if (!(r >= 1) || !(p >= 1)) return 'scrypt r and p of at least 1';
  if (128 * N * r > MAX_MEMORY) return `an scrypt cost within ${MAX_MEMORY / 1024 / 1024} MiB of memory (128 * N * r)`;
  const [salt, key] = parts.slice(4).map((part) => Buffer.from(part, 'base64url'));
  if (salt.length < MIN_SALT_BYTES) return `a salt of at least ${MIN_SALT_BYTES} bytes`;
  if (key.length < MIN_KEY_BYTES) return `a key of at least ${MIN_KEY_BYTES} bytes (the hash looks truncated)`;
  return { cost: { N, r, p }, salt, key };
}

/** What is wrong with a hash (for option validation), or undefined when it can be verified against. */
export function passwordHashProblem(hash: string): string | undefined {
  const parsed = parseHash(hash);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** True when `password` matches a `hashPassword()` hash; compares in constant time. A malformed hash never matches. */
export async function verifyPasswordHash(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (typeof parsed === 'string') return false;
  const actual = await scryptAsync(password, parsed.salt, parsed.key.length, parsed.cost);
  return timingSafeEqual(actual, parsed.key);
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
