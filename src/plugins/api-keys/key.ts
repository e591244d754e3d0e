import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** What every key starts with, so secret scanners (and the authenticate hook) recognise it. */
export const KEY_PREFIX = 'qwk_';

/** `qwk_` + 16 hex characters of id + `_` + 43 base64url characters (256 random bits). */
const KEY_SHAPE = /^qwk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A new key: its id (public, the row's primary key), the whole key (shown once) and its hash. */
export function newKey(): { id: string; key: string; hash: string } {
  const id = randomBytes(8).toString('hex');
  const key = `${KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, hash: hashOf(key) };
}

/** The key's id, or undefined when the token does not have a key's shape. */
export function idOf(token: string): string | undefined {
  return KEY_SHAPE.exec(token)?.[1];
}

/**
 * SHA-256 of the whole key, hex. A slow password hash buys nothing here: the secret is 256
 * random bits, out of reach of any guessing, and every request pays for the check.
 */
export function hashOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Whether `key` hashes to `stored`, compared in constant time. */
export function matches(key: string, stored: string): boolean {
  const expected = Buffer.from(stored, 'hex');
  const actual = createHash('sha256').update(key).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
