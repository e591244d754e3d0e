import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

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
/** ASVS 5.0 (and OWASP's password storage guide): N = 2^17, r = 8, p = 1, about 128 MiB per hash. */
const DEFAULT_COST = { N: 131_072, r: 8, p: 1 };

/**
 * What a hash string may make us spend. The cost travels inside the hash (so older, cheaper
 * hashes still verify), which means a hash string chooses how much memory and CPU each login
 * takes: bounded here so a mistyped or hostile ADMIN_PASSWORD_HASH cannot allocate gigabytes.
 * Each bound allows twice (memory) or four times (work) the default, which covers OWASP's
 * equivalent settings (N = 2^16 with p = 2, N = 2^13 with p = 10, ...).
 */
const MAX_MEMORY_BYTES = 2 * scryptMemory(DEFAULT_COST);
const MAX_WORK = DEFAULT_COST.N * DEFAULT_COST.r * 4;
const MAX_R = 32;
const MAX_P = 16;

/** Bytes OpenSSL allocates for one scrypt (its `maxmem` check): the V array and the p blocks of B. */
function scryptMemory({ N, r, p }: ScryptCost): number {
  return 128 * r * (N + 2 + p);
}

interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** Runs in libuv's thread pool, so the event loop keeps serving requests while a hash is computed. */
function scryptAsync(
  password: string,
  salt: Buffer,
  keyLength: number,
  cost: ScryptCost,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { ...cost, maxmem: scryptMemory(cost) }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * Hashes a password with scrypt (node:crypto), for `ADMIN_PASSWORD_HASH`.
 * @example const hash = await hashPassword('correct horse battery staple') // "scrypt:131072:8:1:..."
 */
export async function hashPassword(
  password: string,
  cost: Partial<ScryptCost> = {},
): Promise<string> {
  const { N, r, p } = { ...DEFAULT_COST, ...cost };
  const problem = costProblem({ N, r, p });
  if (problem) throw new RangeError(`hashPassword needs ${problem}`);
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_LENGTH, { N, r, p });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64url')}:${key.toString('base64url')}`;
}

interface ParsedHash {
  cost: ScryptCost;
  salt: Buffer;
  key: Buffer;
}

/** Shortest salt and key accepted: a key of a few bytes (or none) would match almost any password. */
const MIN_SALT_BYTES = 8;
const MIN_KEY_BYTES = 16;
/** Longest: nothing needs more, and the key length is work scrypt does per login. */
const MAX_SALT_BYTES = 64;
const MAX_KEY_BYTES = 64;

function costProblem({ N, r, p }: ScryptCost): string | undefined {
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0)
    return `an scrypt cost N that is a power of two above 1 (got ${N})`;
  if (!Number.isSafeInteger(r) || !Number.isSafeInteger(p) || r < 1 || p < 1)
    return 'scrypt r and p of at least 1';
  if (r > MAX_R || p > MAX_P)
    return `scrypt r of at most ${MAX_R} and p of at most ${MAX_P} (got r ${r}, p ${p})`;
  if (scryptMemory({ N, r, p }) > MAX_MEMORY_BYTES)
    return `an scrypt cost within ${Math.round(MAX_MEMORY_BYTES / 1024 / 1024)} MiB of memory (128 * r * (N + 2 + p))`;
  if (N * r * p > MAX_WORK)
    return `an scrypt cost N * r * p of at most ${MAX_WORK} (got ${N * r * p})`;
  return undefined;
}

function parseHash(hash: string): ParsedHash | string {
  const parts = hash.split(':');
  if (parts.length !== 6 || parts[0] !== 'scrypt')
    return 'a hash made by hashPassword(): scrypt:N:r:p:salt:key';
  const numbers = parts.slice(1, 4);
  if (!numbers.every((part) => /^\d{1,10}$/.test(part)))
    return `scrypt N, r and p as decimal numbers (got ${numbers.join(':')})`;
  const [N, r, p] = numbers.map(Number);
  const problem = costProblem({ N, r, p });
  if (problem) return problem;
  const [salt, key] = parts.slice(4).map((part) => Buffer.from(part, 'base64url'));
  if (salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES)
    return `a salt of ${MIN_SALT_BYTES} to ${MAX_SALT_BYTES} bytes`;
  if (key.length < MIN_KEY_BYTES)
    return `a key of at least ${MIN_KEY_BYTES} bytes (the hash looks truncated)`;
  if (key.length > MAX_KEY_BYTES) return `a key of at most ${MAX_KEY_BYTES} bytes`;
  return { cost: { N, r, p }, salt, key };
}

/** True when a hash was made with less than today's default cost (it still verifies; make a new one). */
export function isWeakerThanDefault(hash: string): boolean {
  const parsed = parseHash(hash);
  if (typeof parsed === 'string') return false;
  const { N, r, p } = parsed.cost;
  return N * r * p < DEFAULT_COST.N * DEFAULT_COST.r * DEFAULT_COST.p;
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
