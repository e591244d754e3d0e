import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** The login-transaction cookie's name (without its prefix over plain http, as every cookie here). */
export const LOGIN_COOKIE = '__Host-qwickapps-login';

/** The name a `__Host-` cookie goes by: the prefix needs Secure, which plain http cannot give. */
export const cookieName = (name: string, secure: boolean): string =>
  secure || !name.startsWith('__Host-') ? name : name.slice('__Host-'.length);

/** One cookie's attributes: always Path=/ and HttpOnly; SameSite=Lax because the OAuth return is a cross-site top-level GET. */
export interface CookieSpec {
  name: string;
  secure: boolean;
}

/**
 * The cookie name to use. A `__Host-` cookie must be Secure, which a browser refuses over plain
 * http: in development on http the prefix is dropped (the cookie is then still host-only,
 * Path=/ and HttpOnly, only without the browser's guarantee), and the log says so once.
 */
export function cookieSpec(name: string, secure: boolean, logger: Logger): CookieSpec {
  const plain = cookieName(name, secure);
  if (plain === name) return { name, secure };
  logger.warn(
    { cookie: plain },
    'the public URL is http: the auth cookie goes without its __Host- prefix (which needs Secure); use https in production',
  );
  return { name: plain, secure };
}

/** The value of cookie `name` in the request, or undefined. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0 || part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    return value.length > 0 ? value : undefined;
  }
  return undefined;
}

/** Adds a Set-Cookie without dropping ones set before (the login cookie beside the session's). */
function appendSetCookie(res: ServerResponse, cookie: string): void {
  const current = res.getHeader('set-cookie');
  const list = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
  res.setHeader('set-cookie', [
    ...list.filter((item) => !item.startsWith(cookie.split('=')[0] + '=')),
    cookie,
  ]);
}

/** Sets the cookie; `maxAge` in milliseconds (the cookie outlives no session). */
export function setCookie(
  res: ServerResponse,
  spec: CookieSpec,
  value: string,
  maxAge: number,
): void {
  const attributes = [`${spec.name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  attributes.push(`Max-Age=${Math.max(0, Math.floor(maxAge / 1000))}`);
  if (spec.secure) attributes.push('Secure');
  appendSetCookie(res, attributes.join('; '));
}

export function clearCookie(res: ServerResponse, spec: CookieSpec): void {
  setCookie(res, spec, '', 0);
}

/** A 256-bit key for one purpose, derived from a configured secret with HKDF-SHA256. */
export function deriveKey(secret: string | Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'qwickapps-auth', purpose, 32));
}

/** A short, non-secret name of a key (its hash), so a cookie says which key opens it. */
export function keyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

export const randomToken = (): string => randomBytes(32).toString('base64url');

/** SHA-256 of a value, base64url: the store keys a server session by its cookie's hash. */
export const digest = (value: string): string =>
  createHash('sha256').update(value).digest('base64url');

/**
 * AES-256-GCM, synchronous, for the login-transaction cookie: the openid-client strategy writes
 * its transaction into `req.session` and redirects in the same tick, so the cookie must be
 * sealed without awaiting. `label` is authenticated too: a cookie of one purpose never opens as
 * another.
 */
export function sealSync(key: Uint8Array, label: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(label));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

export function openSync<T>(
  keys: readonly Uint8Array[],
  label: string,
  sealed: string,
): T | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 29 || raw.length > 8_192) return undefined;
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(label));
      decipher.setAuthTag(raw.subarray(12, 28));
      const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
      return JSON.parse(text.toString('utf8')) as T;
    } catch {
      // Another key, or a forged cookie.
    }
  }
  return undefined;
}
