import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import Provider, { errors, type OpContext } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

/**
 * A user of the test OP: signs in with `password`; `permissions` go into API access tokens, and
 * `roles` too, in the namespaced claim `ROLES_CLAIM` (where an Auth0 Action puts a user's roles).
 */
export interface OpUser {
  sub: string;
  password: string;
  email: string;
  name: string;
  permissions?: string[];
  roles?: string[];
}

/** The claim the stand-in puts roles in, as an Auth0 Action would: give it as `rolesClaim`. */
export const ROLES_CLAIM = 'https://qwickapps.dev/roles';

/** What the app registers at the OP once it knows its own URL. */
export interface OpClientUris {
  redirectUri: string;
  postLogoutRedirectUri?: string;
  backchannelLogoutUri?: string;
}

export interface Auth0Op {
  /** `http://127.0.0.1:PORT/`, with the trailing slash, as Auth0's. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The API identifier: `audience` for it gives an RS256 JWT access token. */
  audience: string;
  jwksUrl: string;
  users: Map<string, OpUser>;
  /** Sets the client's redirect, post-logout and back-channel URIs (the app's port is known late). */
  registerClient(uris: OpClientUris): void;
  /** Sends a real back-channel logout for `sub` (and the OP session `sid`) to the client. */
  backchannelLogout(sub: string, sid: string): Promise<void>;
  /** Signs any logout token with the OP's key, for the refusal tests. */
  signLogoutToken(claims: JWTPayload, header?: { typ?: string }): Promise<string>;
  close(): Promise<void>;
}

/** The users the tests sign in as (fixed passwords: tests only; the demo makes its own). */
export const TEST_USERS: readonly OpUser[] = [
  {
    sub: 'user-alice',
    password: 'alice-password',
    email: 'alice@example.com',
    name: 'Alice',
    permissions: ['read:reports', 'write:reports'],
  },
  { sub: 'user-bob', password: 'bob-password', email: 'bob@example.com', name: 'Bob' },
];

const PAGE_STYLE =
  'body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}' +
  'label,input,button{display:block;margin:.25rem 0;font:inherit}input{width:100%}';

/** The sign-in page: plain HTML, labelled as the stand-in it is, no script. */
const form = (uid: string, failed = false) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Development sign-in</title>` +
  `<style>${PAGE_STYLE}</style></head><body><h1>Development sign-in</h1>` +
  '<p>A local stand-in for Auth0, for development only: not a real identity provider.</p>' +
  (failed ? '<p role="alert">Wrong user or password.</p>' : '') +
  `<form method="post" action="/interaction/${uid}">` +
  '<label for="login">User</label><input id="login" name="login" autocomplete="username">' +
  '<label for="password">Password</label>' +
  '<input id="password" name="password" type="password" autocomplete="current-password">' +
  '<button>Sign in</button></form></body></html>';

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return new URLSearchParams(body);
}

/**
 * oidc-provider 9 in-process on 127.0.0.1 (`port`, default any free one), configured as an Auth0 tenant is: issuer with a
 * trailing slash, Auth0's paths (`/authorize`, `/oauth/token`, `/userinfo`,
 * `/.well-known/jwks.json`, `/oidc/logout`), `audience` on the authorization request giving an
 * RS256 JWT access token for the API with a `permissions` claim, PKCE required, back-channel
 * logout on. Users sign in at `/interaction/:uid` with a plain form (`login`, `password`).
 * The demo runs it as its development sign-in (oidc-provider is a dev dependency: import this
 * module with `await import()` only then); the auth tests sign in through it too.
 * @example const op = await startAuth0Op(); op.registerClient({ redirectUri: `${app}/auth/callback` })
 */
export async function startAuth0Op(
  options: { users?: readonly OpUser[]; audience?: string; port?: number } = {},
): Promise<Auth0Op> {
  const users = new Map((options.users ?? TEST_USERS).map((user) => [user.sub, user]));
  const audience = options.audience ?? 'https://api.example.test/';
  const clientId = 'test-client';
  // Per run: nothing outside this process and its app ever holds them.
  const clientSecret = randomBytes(32).toString('base64url');
  let client: Record<string, unknown> = {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: ['http://127.0.0.1/unregistered'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
  // The client is looked up through the adapter on every request, so it can be registered
  // after the OP started (the app learns its port only once the OP's issuer is known).
  class Adapter extends MemoryAdapter {
    override async find(id: string) {
      if (this.model === 'Client') return id === clientId ? client : undefined;
      return super.find(id);
    }
  }

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk: JWK = {
    ...(await exportJWK(privateKey)),
    kid: 'op-key-1',
    alg: 'RS256',
    use: 'sig',
  };

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}/`;

  const provider = new Provider(issuer, {
    adapter: Adapter,
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: {
      authorization: '/authorize',
      token: '/oauth/token',
      userinfo: '/userinfo',
      jwks: '/.well-known/jwks.json',
      end_session: '/oidc/logout',
    },
    pkce: { required: () => true },
    claims: { openid: ['sub', 'sid'], email: ['email', 'email_verified'], profile: ['name'] },
    // Auth0 puts the profile claims into the ID token even when it issues an access token.
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    extraParams: ['audience'],
    ttl: {
      AccessToken: 3_600,
      AuthorizationCode: 60,
      IdToken: 3_600,
      Interaction: 600,
      Session: 3_600,
      Grant: 3_600,
      RefreshToken: 86_400,
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx: OpContext, _client: unknown, oneOf?: string) =>
          oneOf ?? (ctx.oidc.params?.audience as string | undefined),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: OpContext, resource: string) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          return {
            scope: 'read:reports write:reports',
            audience,
            accessTokenTTL: 3_600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx: OpContext, token: object) => {
      const user = users.get((token as { accountId?: string }).accountId ?? '');
      if (!user || !('aud' in token)) return undefined;
      return {
        permissions: user.permissions ?? [],
        ...(user.roles === undefined ? {} : { [ROLES_CLAIM]: user.roles }),
      };
    },
    findAccount: async (_ctx: OpContext, sub: string) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, email: user.email, email_verified: true, name: user.name }),
      };
    },
    interactions: {
      url: (_ctx: OpContext, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    // A first-party client: every grant it asks for is given, so no consent page comes up.
    loadExistingGrant: async (ctx: OpContext) => {
      const grantId =
        ctx.oidc.result?.consent?.grantId ??
        ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId,
      });
      grant.addOIDCScope('openid email profile offline_access');
      grant.addResourceScope(audience, 'read:reports write:reports');
      await grant.save();
      return grant;
    },
    // v9 guards outgoing requests against special-use addresses; the test app is on loopback.
    fetch: (url: string | URL, init: RequestInit) => {
      const { dispatcher: _guard, ...rest } = init as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    },
  });
  provider.proxy = false;
  const callback = provider.callback();

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    // Auth0's `audience` is a resource indicator (RFC 8707) under another name.
    if (url.pathname === '/authorize' && url.searchParams.has('audience')) {
      if (!url.searchParams.has('resource'))
        url.searchParams.set('resource', url.searchParams.get('audience')!);
      req.url = url.pathname + url.search;
    }
    const interaction = /^\/interaction\/([\w-]+)$/.exec(url.pathname);
    if (!interaction) return void callback(req, res);
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/html' }).end(form(interaction[1]));
          return;
        }
        const body = await readForm(req);
        const user = users.get(body.get('login') ?? '');
        if (details.prompt.name === 'login') {
          if (!user || user.password !== body.get('password')) {
            res.writeHead(401, { 'content-type': 'text/html' }).end(form(interaction[1], true));
            return;
          }
          await provider.interactionFinished(
            req,
            res,
            { login: { accountId: user.sub } },
            { mergeWithLastSubmission: false },
          );
          return;
        }
        await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
      }
    })();
  });

  return {
    issuer,
    clientId,
    clientSecret,
    audience,
    jwksUrl: `${issuer}.well-known/jwks.json`,
    users,
    registerClient(uris) {
      client = {
        ...client,
        redirect_uris: [uris.redirectUri],
        ...(uris.postLogoutRedirectUri
          ? { post_logout_redirect_uris: [uris.postLogoutRedirectUri] }
          : {}),
        ...(uris.backchannelLogoutUri
          ? {
              backchannel_logout_uri: uris.backchannelLogoutUri,
              backchannel_logout_session_required: true,
            }
          : {}),
      };
    },
    async backchannelLogout(sub, sid) {
      const registered = await provider.Client.find(clientId);
      await (
        registered as unknown as { backchannelLogout(s: string, i: string): Promise<void> }
      ).backchannelLogout(sub, sid);
    },
    signLogoutToken(claims, header = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'op-key-1', typ: header.typ ?? 'logout+jwt' })
        .sign(privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
