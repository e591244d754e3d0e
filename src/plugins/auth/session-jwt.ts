import { EncryptJWT, decodeProtectedHeader, jwtDecrypt } from 'jose';
import type { AuthUser } from './types.js';
import { deriveKey, keyId } from './session-cookie.js';

/** What an encrypted session cookie carries. */
export interface CookieSession {
  id: string;
  user: AuthUser;
  createdAt: number;
  lastSeenAt: number;
}

/** Browsers keep about 4 KiB per cookie; past this the user's raw claims stay out of it. */
const MAX_COOKIE = 3_800;

/**
 * Seals and opens `jwt` session cookies: JWE `dir` + A256GCM, one key per configured secret
 * (HKDF-SHA256), newest first. New cookies use the first key and name it in `kid`; a cookie
 * under an older key still opens, so rotating the secret logs no one out.
 */
export class SessionCookieCodec {
  private readonly keys: { kid: string; key: Uint8Array }[];

  constructor(secrets: readonly string[]) {
    this.keys = secrets.map((value) => {
      const key = deriveKey(value, 'session cookie v1');
      return { kid: keyId(key), key };
    });
  }

  async seal(session: CookieSession, maxAge: number): Promise<string> {
    const { kid, key } = this.keys[0];
    const encrypt = (user: AuthUser) =>
      new EncryptJWT({
        sid: session.id,
        usr: user,
        cat: session.createdAt,
        lst: session.lastSeenAt,
      })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid })
        .setExpirationTime(Math.ceil((session.lastSeenAt + maxAge) / 1000))
        .encrypt(key);
    const sealed = await encrypt(session.user);
    // The claims are the provider's; the user's id, roles and permissions are what counts here.
    return sealed.length <= MAX_COOKIE ? sealed : encrypt({ ...session.user, claims: {} });
  }

  /** The session in the cookie, or undefined when no key opens it or it is malformed. */
  async open(value: string, now: number): Promise<CookieSession | undefined> {
    if (value.length > 8_192) return undefined;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(value).kid;
    } catch {
      return undefined;
    }
    const candidates = [
      ...this.keys.filter((entry) => entry.kid === kid),
      ...this.keys.filter((entry) => entry.kid !== kid),
    ];
    for (const { key } of candidates) {
      try {
        const { payload } = await jwtDecrypt(value, key, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
          currentDate: new Date(now),
        });
        const { sid, usr, cat, lst } = payload as Record<string, unknown>;
        if (typeof sid !== 'string' || typeof cat !== 'number' || typeof lst !== 'number')
          return undefined;
        if (typeof usr !== 'object' || usr === null) return undefined;
        return { id: sid, user: usr as AuthUser, createdAt: cat, lastSeenAt: lst };
      } catch {
        // The next key, or a cookie no key opens.
      }
    }
    return undefined;
  }
}
