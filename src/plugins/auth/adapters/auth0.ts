import type { JWTPayload } from 'jose';
import type { AuthProvider } from '../types.js';
import { nameList, urlProblems, userOf, type AdapterProblem } from './shared.js';

export interface Auth0AdapterOptions {
  /** The tenant's domain (`example.us.auth0.com`) or custom domain, without a scheme. */
  domain?: string;
  /**
   * The exact issuer instead of `domain`, for an OpenID provider that stands in for Auth0 in
   * development and tests (`http://127.0.0.1:4000/`; plain http only on this machine). Its key
   * set must be at `<issuer>.well-known/jwks.json`, as Auth0's is.
   */
  issuer?: string;
  /** The application's client id: enables the login flow (authorization code with PKCE). */
  clientId?: string;
  clientSecret?: string;
  /**
   * The API identifier tokens must carry in `aud` (Auth0 often sends an array: the API and
   * `/userinfo`). Required: without it Auth0 issues opaque access tokens nothing can verify.
   */
  audience?: string;
  /** The namespaced claim an Action puts roles in (`https://example.com/roles`). None: no roles. */
  rolesClaim?: string;
  /** Provider name, the prefix of user ids (`auth0|<sub>`). Default `auth0`. */
  name?: string;
  /** Oldest `iat` accepted, in seconds. Default 30 days, the longest lifetime Auth0 allows. */
  maxTokenAge?: number;
}

const THIRTY_DAYS = 30 * 86_400;

function issuerOf(options: Auth0AdapterOptions, problems: AdapterProblem[]): string {
  if (options.domain !== undefined && options.issuer !== undefined) {
    problems.push({ option: 'issuer', message: 'give either domain or issuer, not both' });
  }
  if (options.issuer !== undefined) {
    problems.push(...urlProblems(options.issuer, 'issuer'));
    return options.issuer;
  }
  const domain = options.domain ?? '';
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(domain)) {
    problems.push({
      option: 'domain',
      message:
        domain === ''
          ? 'required: the tenant domain, e.g. "example.us.auth0.com"'
          : `a host name without scheme or path, e.g. "example.us.auth0.com" (got "${domain}")`,
    });
  }
  // Auth0's `iss` always ends with a slash; the verifier compares it exactly.
  return `https://${domain}/`;
}

/**
 * Auth0 access tokens: issuer `https://DOMAIN/`, keys from the tenant's JWKS, RS256 only,
 * `audience` required in `aud`. Roles come from `rolesClaim`, permissions from Auth0's
 * `permissions` claim (API setting "Add Permissions in the Access Token").
 * @example auth0Adapter({ domain: 'example.us.auth0.com', audience: 'https://api.example.com', rolesClaim: 'https://example.com/roles' })
 */
export function auth0Adapter(options: Auth0AdapterOptions): AuthProvider {
  const problems: AdapterProblem[] = [];
  const issuer = issuerOf(options, problems);
  const name = options.name ?? 'auth0';
  if (options.audience === undefined || options.audience === '') {
    problems.push({
      option: 'audience',
      message:
        "required: the API identifier. Without an audience Auth0 issues opaque access tokens, which can't be verified here",
    });
  }
  const audience = options.audience ?? '';
  const rolesClaim = options.rolesClaim;
  return {
    name,
    kind: 'auth0',
    issuer,
    audience,
    algorithms: ['RS256'],
    keys: { jwksUrl: `${issuer.replace(/\/?$/, '/')}.well-known/jwks.json` },
    maxTokenAge: options.maxTokenAge ?? THIRTY_DAYS,
    toUser: (payload: JWTPayload) =>
      userOf(name, payload, {
        roles: rolesClaim === undefined ? [] : nameList(payload[rolesClaim]),
        permissions: nameList(payload.permissions),
      }),
    login:
      options.clientId === undefined
        ? undefined
        : {
            kind: 'oidc',
            issuer,
            clientId: options.clientId,
            clientSecret: options.clientSecret,
            audience,
            scope: 'openid profile email',
          },
    problems,
  };
}
