import type { JWTPayload } from 'jose';
import type { AuthProvider } from '../types.js';
import {
  MIN_SECRET_BYTES,
  nameList,
  secretBytes,
  textClaim,
  urlProblems,
  userOf,
  type AdapterProblem,
} from './shared.js';

export interface SupabaseAdapterOptions {
  /** The project URL (`https://<ref>.supabase.co`; `http://127.0.0.1:54321` for `supabase start`). */
  url: string;
  /** The project's anon (publishable) key, sent as `apikey` by the password login. */
  anonKey: string;
  /**
   * The legacy JWT secret, for projects that still sign with HS256: used only while the
   * project's key set is empty. Projects with signing keys (ES256/RS256) don't need it.
   */
  jwtSecret?: string | Uint8Array;
  /** Provider name, the prefix of user ids (`supabase|<sub>`). Default `supabase`. */
  name?: string;
  /** Oldest `iat` accepted, in seconds. Default 7 days, the longest JWT expiry Supabase allows. */
  maxTokenAge?: number;
}

const SEVEN_DAYS = 7 * 86_400;

/** Roles Supabase puts in API keys, which are JWTs too but stand for no user. */
const KEY_ROLES = new Set(['anon', 'service_role']);

/**
 * Roles from `app_metadata` only: only the service role can write it, while `user_metadata` is
 * editable by the user it describes.
 */
function rolesOf(payload: JWTPayload): string[] {
  const appMetadata = payload.app_metadata;
  if (typeof appMetadata !== 'object' || appMetadata === null) return [];
  const { roles, role } = appMetadata as { roles?: unknown; role?: unknown };
  return [...new Set([...nameList(Array.isArray(roles) ? roles : []), ...nameList(role)])];
}

/** A display name (user-editable: shown, never used to decide access). */
function displayName(payload: JWTPayload): string | undefined {
  const metadata = payload.user_metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const { full_name: fullName, name } = metadata as { full_name?: unknown; name?: unknown };
  return textClaim(fullName) ?? textClaim(name);
}

/**
 * Supabase Auth access tokens: issuer `<url>/auth/v1`, audience `authenticated`, keys from the
 * project's JWKS (ES256/RS256), or the legacy HS256 secret while that set is empty. API keys
 * (`anon`, `service_role`) are refused: they are not user logins.
 * @example supabaseAdapter({ url: 'https://abc.supabase.co', anonKey: process.env.SUPABASE_ANON_KEY! })
 */
export function supabaseAdapter(options: SupabaseAdapterOptions): AuthProvider {
  const problems: AdapterProblem[] = [...urlProblems(options.url, 'url')];
  if (typeof options.anonKey !== 'string' || options.anonKey === '')
    problems.push({ option: 'anonKey', message: "required: the project's anon (publishable) key" });
  const fallbackSecret =
    options.jwtSecret === undefined ? undefined : secretBytes(options.jwtSecret);
  if (fallbackSecret !== undefined && fallbackSecret.byteLength < MIN_SECRET_BYTES)
    problems.push({
      option: 'jwtSecret',
      message: `at least ${MIN_SECRET_BYTES} bytes (got ${fallbackSecret.byteLength}): Supabase's JWT secrets are longer`,
    });
  const url = options.url.replace(/\/+$/, '');
  const issuer = `${url}/auth/v1`;
  const name = options.name ?? 'supabase';
  return {
    name,
    kind: 'supabase',
    issuer,
    audience: 'authenticated',
    // HS256 is accepted only through the fallback secret, and only while the key set is empty.
    algorithms: fallbackSecret === undefined ? ['ES256', 'RS256'] : ['ES256', 'RS256', 'HS256'],
    keys: { jwksUrl: `${issuer}/.well-known/jwks.json`, fallbackSecret },
    requiredClaims: ['role'],
    maxTokenAge: options.maxTokenAge ?? SEVEN_DAYS,
    toUser(payload) {
      if (typeof payload.role === 'string' && KEY_ROLES.has(payload.role))
        return { refused: `a Supabase ${payload.role} key is an API key, not a user login` };
      return userOf(name, payload, {
        roles: rolesOf(payload),
        permissions: [],
        name: displayName(payload),
      });
    },
    login: { kind: 'supabase-password', url, anonKey: options.anonKey },
    problems,
  };
}
