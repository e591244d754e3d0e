import { createHmac, randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { AuthConfig } from './options.js';
import type { AuthUser } from './types.js';

/** The forwarding settings once parsed (`forward` not `false`). */
export type ForwardConfig = Exclude<AuthConfig['forward'], false>;

/**
 * The claim that carries the user in a forwarded token: everything `AuthUser` holds but the
 * session id, which is the gateway's and no service's business.
 */
export const FORWARDED_USER_CLAIM = 'qwickapps_user';

interface ForwardedUser {
  id: string;
  provider: string;
  issuer: string;
  email?: string;
  name?: string;
  roles: readonly string[];
  permissions: readonly string[];
  claims: Readonly<Record<string, unknown>>;
}

interface CachedToken {
  user: AuthUser;
  token: string;
  /** Epoch ms after which a new token is signed: some time before it expires. */
  renewAt: number;
}

/** Tokens kept at most (one per identity and session); the oldest goes first. */
const MAX_CACHED = 10_000;

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((item, index) => item === b[index]);

/** Whether a cached token still speaks for `user`: same roles, permissions and profile. */
function sameGrant(a: AuthUser, b: AuthUser): boolean {
  return (
    a === b ||
    (a.email === b.email &&
      a.name === b.name &&
      sameList(a.roles, b.roles) &&
      sameList(a.permissions, b.permissions))
  );
}

/**
 * Signs the identity the gateway forwards to services: a JWT (HS256 under `forward.secret`)
 * with `iss`, `aud`, `sub`, `iat`, `exp` (`forward.ttl` ahead) and the user. A token is signed
 * once per identity and reused until shortly before it expires, so a request costs a map lookup,
 * not an HMAC. Signing uses node:crypto directly: it is synchronous, so the hook that forwards a
 * cached identity never waits.
 */
export class ForwardSigner {
  readonly header: string;
  private readonly key: Buffer;
  private readonly cache = new Map<string, CachedToken>();
  /** True when no secret was configured: services cannot verify what this process signs. */
  readonly ephemeral: boolean;

  constructor(
    private readonly config: ForwardConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.header = config.header;
    this.ephemeral = config.secret === undefined;
    this.key = config.secret === undefined ? randomBytes(32) : Buffer.from(config.secret, 'utf8');
  }

  /** The token for `user`, from the cache while it has a while to live. */
  tokenFor(user: AuthUser): string {
    const key = user.sessionId === undefined ? user.id : `${user.id}\n${user.sessionId}`;
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && now < cached.renewAt && sameGrant(cached.user, user)) return cached.token;
    const token = this.sign(user, now);
    // Renewed when a quarter of its life (at most 15 s) is left, so a service never sees one expire in flight.
    const margin = Math.min(this.config.ttl / 4, 15_000);
    if (cached) this.cache.delete(key);
    else if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { user, token, renewAt: now + this.config.ttl - margin });
    return token;
  }

  private sign(user: AuthUser, now: number): string {
    const issuedAt = Math.floor(now / 1000);
    const forwarded: ForwardedUser = {
      id: user.id,
      provider: user.provider,
      issuer: user.issuer,
      ...(user.email === undefined ? {} : { email: user.email }),
      ...(user.name === undefined ? {} : { name: user.name }),
      roles: user.roles,
      permissions: user.permissions,
      claims: user.claims,
    };
    const payload = base64url(
      JSON.stringify({
        iss: this.config.issuer,
        aud: this.config.audience,
        sub: user.subject,
        iat: issuedAt,
        exp: issuedAt + Math.ceil(this.config.ttl / 1000),
        [FORWARDED_USER_CLAIM]: forwarded,
      }),
    );
    const signature = createHmac('sha256', this.key).update(`${HEADER}.${payload}`).digest();
    return `${HEADER}.${payload}.${base64url(signature)}`;
  }
}

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/**
 * The user a verified forwarded token carries, the same `AuthUser` the gateway verified, or a
 * refusal when the payload is not one the gateway signs. Only called after the signature,
 * issuer, audience and expiry were checked.
 */
export function userFromForwarded(payload: JWTPayload): AuthUser | { refused: string } {
  const user = payload[FORWARDED_USER_CLAIM] as Partial<ForwardedUser> | undefined;
  if (
    typeof payload.sub !== 'string' ||
    typeof user !== 'object' ||
    user === null ||
    typeof user.id !== 'string' ||
    typeof user.provider !== 'string' ||
    typeof user.issuer !== 'string' ||
    !isStringList(user.roles) ||
    !isStringList(user.permissions)
  ) {
    return { refused: `a forwarded identity carries sub and ${FORWARDED_USER_CLAIM}` };
  }
  const claims =
    typeof user.claims === 'object' && user.claims !== null && !Array.isArray(user.claims)
      ? user.claims
      : {};
  return {
    id: user.id,
    provider: user.provider,
    issuer: user.issuer,
    subject: payload.sub,
    ...(typeof user.email === 'string' ? { email: user.email } : {}),
    ...(typeof user.name === 'string' ? { name: user.name } : {}),
    roles: user.roles,
    permissions: user.permissions,
    claims,
  };
}
