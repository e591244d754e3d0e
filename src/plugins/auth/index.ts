import type { IncomingMessage } from 'node:http';
import { HttpError } from '../../core/errors.js';
import { PLUGIN_ORDER, type RouteDefinition, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { authOptionsSchema, type AuthConfig, type AuthOptions } from './options.js';
import { authPanel, authStatusRoute } from './panel.js';
import type { Sessions } from './sessions.js';
import type { AuthProvider, AuthUser, IdentifyCheck, SignInHook, TokenVerifier } from './types.js';

export { auth0Adapter, type Auth0AdapterOptions } from './adapters/auth0.js';
export { supabaseAdapter, type SupabaseAdapterOptions } from './adapters/supabase.js';
export { jwtAdapter, type JwtAdapterOptions } from './adapters/jwt.js';
export { gatewayAdapter, type GatewayAdapterOptions } from './adapters/gateway.js';
export { requireUser } from './express.js';
export { AUTH_ERRORS } from './errors.js';
export type { AuthConfig, AuthOptions, SessionConfig } from './options.js';
export type {
  AuthProvider,
  AuthRefusal,
  AuthSession,
  AuthUser,
  IdentifyCheck,
  ProviderKeys,
  ProviderLogin,
  SessionManager,
  SignInHook,
  TokenVerifier,
} from './types.js';

/** The `auth` service (`ctx.get('auth')`): what other plugins ask of the auth plugin. */
export interface AuthService {
  /** The user a bearer token stands for; rejects with a 401 (or 503) `HttpError`. */
  verify(token: string): Promise<AuthUser>;
  /**
   * Who a request acts as: the user the authenticate hook settled (`req.user`), else its bearer
   * token or session, verified now. Undefined for anonymous callers and refused credentials.
   */
  identify(req: IncomingMessage): Promise<AuthUser | undefined>;
  sessions: Sessions;
  /**
   * Adds a sign-in hook, run after a login is verified and before its session starts: it may
   * enrich the user or refuse the login (a 403). Returns the function that removes it.
   * @example ctx.get('auth').onSignIn(async (user) => (banned(user) ? { refuse: 'Banned.' } : user))
   */
  onSignIn(hook: SignInHook): () => void;
  /**
   * Adds an identify check, run synchronously for every caller identified by token, session or
   * forwarded identity: a reason refuses the caller (403 `AUTH_IDENTITY_REFUSED` where a route
   * needs a user). Returns the function that removes it.
   * @example ctx.get('auth').onIdentify((user) => (disabled.has(user.issuer, user.subject) ? 'This account is disabled.' : undefined))
   */
  onIdentify(check: IdentifyCheck): () => void;
}

declare module '../../core/services.js' {
  interface Services {
    auth: AuthService;
  }
}

/**
 * Environment fallbacks for nested options, which the app's `env` map (top-level keys only)
 * cannot name: `AUTH_SESSION_SECRET` (comma-separated, newest first) and `AUTH_FORWARD_SECRET`.
 */
function withEnvironment(options: AuthOptions, env: NodeJS.ProcessEnv): AuthOptions {
  const out: AuthOptions = { ...options };
  const sessionSecret = env.AUTH_SESSION_SECRET;
  if (sessionSecret && options.session?.secret === undefined)
    out.session = {
      ...options.session,
      secret: sessionSecret
        .split(',')
        .map((value) => value.trim())
        .filter(Boolean),
    };
  const forwardSecret = env.AUTH_FORWARD_SECRET;
  if (forwardSecret && options.forward !== false && options.forward?.secret === undefined)
    out.forward = { ...options.forward, secret: forwardSecret };
  return out;
}

/** Providers by where their tokens come from: `Authorization`, or a header of their own. */
function bySource(providers: readonly AuthProvider[]) {
  const bearer = providers.filter((provider) => provider.header === undefined);
  const headers = new Map<string, AuthProvider[]>();
  for (const provider of providers)
    if (provider.header !== undefined)
      headers.set(provider.header, [...(headers.get(provider.header) ?? []), provider]);
  return { bearer, headers };
}

/**
 * Who is calling, for the gateway and for services: bearer tokens of Auth0, Supabase or any JWT
 * issuer, browser sessions (server-side through the cache plugin, or an encrypted cookie), and
 * at a service behind the gateway, the identity the gateway forwarded. It runs as the edge
 * pipeline's `authenticate` hook, in both lanes and on WebSocket upgrades, so proxy routes with
 * `auth: 'required'` refuse anonymous callers (401, or 303 to the login route for a browser),
 * Express routes read `req.user` (`requireUser()`), and proxied requests carry the verified
 * identity upstream as a short-lived token the gateway signs (`forward`), never the user's
 * cookie or token. With `controlPanel: { adminRoles }` it guards the control panel and every
 * admin route. Provides the `auth` service.
 * @example
 * createGateway({
 *   routing: { routes: [{ match: '/api/*', target: 'http://127.0.0.1:3100', auth: 'required' }] },
 *   plugins: [createAuthPlugin({
 *     providers: [auth0Adapter({ domain: 'acme.eu.auth0.com', audience: 'https://api.acme.com', clientId })],
 *     controlPanel: { adminRoles: ['admin'] },
 *   })],
 * })
 * // the service: createAuthPlugin({ providers: [gatewayAdapter({ secret: process.env.AUTH_FORWARD_SECRET! })] })
 */
export function createAuthPlugin(options: AuthOptions): ServerPlugin<AuthConfig> {
  let routes: RouteDefinition[] = [];
  return {
    name: 'auth',
    version: CORE_VERSION,
    // Before the routing plugin (its routes need the hook) and the control panel (its guard).
    order: PLUGIN_ORDER.early,
    // The API keys plugin, when there, adds its authenticate hook first: this one then leaves
    // the identity it settled alone.
    optionalDependencies: ['cache', 'api-keys'],
    config: {
      schema: authOptionsSchema,
      options: withEnvironment(options, process.env),
      env: { publicUrl: 'PUBLIC_URL' },
    },
    async onInit(ctx) {
      const config = ctx.config;
      const [
        { createTokenVerifier },
        { createSessionManager },
        { ForwardSigner },
        { accessHook, authenticateHook, permissionsHook },
        { authAdminGuard },
        { createLoginFlow },
        { LoginLimiter },
        { authRoutes },
      ] = await Promise.all([
        import('./verifier.js'),
        import('./sessions.js'),
        import('./identity.js'),
        import('./edge-hook.js'),
        import('./admin-guard.js'),
        import('./login.js'),
        import('./login-limit.js'),
        import('./routes.js'),
      ]);
      const logger = ctx.logger;
      const verifierOptions = { ...config.tokens, logger };
      const sources = bySource(config.providers);
      const bearer: TokenVerifier | undefined =
        sources.bearer.length > 0
          ? createTokenVerifier(sources.bearer, verifierOptions)
          : undefined;
      const headers = [...sources.headers].map(([header, providers]) => ({
        header,
        verifier: createTokenVerifier(providers, verifierOptions),
      }));
      const secure = config.publicUrl?.startsWith('https:') ?? false;
      const sessions = createSessionManager(config.session, {
        cache: ctx.tryGet('cache'),
        logger,
        secure,
      });
      for (const name of sessions.cookieNames) ctx.app.edge.reserveCookie(name);
      const forward = config.forward === false ? undefined : new ForwardSigner(config.forward);
      if (forward) {
        ctx.app.edge.reserveRequestHeader(forward.header);
        // Services take the identity the gateway signed, never the caller's own token: one that
        // reached a service could be replayed by it elsewhere.
        ctx.app.edge.reserveRequestHeader('authorization');
        if (forward.ephemeral)
          logger.warn(
            { header: forward.header },
            'forwarded identities are signed with a key of this process only: set AUTH_FORWARD_SECRET so services can verify them',
          );
      }
      const identifyChecks: IdentifyCheck[] = [];
      const hookDeps = {
        bearer,
        headers,
        sessions,
        forward,
        loginPath: config.routes.login,
        checks: identifyChecks,
        logger,
      };
      const verify = async (token: string) => {
        if (bearer) return bearer.verify(token);
        const { AuthTokenError } = await import('./verifier.js');
        throw new AuthTokenError(401, 'AUTH_TOKEN_INVALID', 'no provider takes bearer tokens');
      };
      ctx.app.edge.add(authenticateHook(hookDeps));
      // Guard phase, after the rate limits: refusals count against the caller's bucket.
      ctx.app.edge.add(accessHook(hookDeps.loginPath));
      // The roles plugin may start after this one: its service is looked up per guarded request.
      ctx.app.edge.add(permissionsHook(() => ctx.tryGet('roles')));
      if (config.controlPanel)
        ctx.app.setAdminGuard(
          authAdminGuard({
            adminRoles: config.controlPanel.adminRoles,
            loginPath: config.routes.login,
            sessions,
            // Looked up per request: the roles plugin may start after this one.
            roles: () => ctx.tryGet('roles'),
          }),
        );
      const publicUrl = config.publicUrl ?? developmentUrl();
      if (config.publicUrl === undefined && config.providers.some((provider) => provider.login))
        logger.warn(
          { publicUrl },
          'PUBLIC_URL is not set: logins redirect back to this development URL',
        );
      const signInHooks: SignInHook[] = [];
      const signIn = async (user: AuthUser): Promise<AuthUser> => {
        let current = user;
        for (const hook of [...signInHooks]) {
          const answer = await hook(current);
          if ('refuse' in answer) {
            logger.info({ user: user.id, reason: answer.refuse }, 'sign-in refused by a hook');
            throw new HttpError(403, 'AUTH_SIGN_IN_REFUSED', answer.refuse);
          }
          current = answer;
        }
        return current;
      };
      const flow = await createLoginFlow({
        config,
        publicUrl,
        sessions,
        limiter: new LoginLimiter(config.loginLimit, sessions.store),
        verifyToken: (token) => verify(token),
        clientOf: (req) => ctx.app.clients.of(req),
        logger,
        signIn,
      });
      routes = [
        ...authRoutes({
          config,
          publicUrl,
          sessions,
          flow,
          // The authenticate hook has settled the caller before any route runs.
          identify: async (req) => req.user,
          logger,
          clients: ctx.app.clients,
        }),
        authStatusRoute(config),
      ];
      ctx.provide('auth', {
        verify,
        identify: (req) => identifyRequest(req, hookDeps),
        sessions,
        onSignIn(hook) {
          signInHooks.push(hook);
          return () => {
            const index = signInHooks.indexOf(hook);
            if (index >= 0) signInHooks.splice(index, 1);
          };
        },
        onIdentify(check) {
          identifyChecks.push(check);
          return () => {
            const index = identifyChecks.indexOf(check);
            if (index >= 0) identifyChecks.splice(index, 1);
          };
        },
      });
      logger.info(
        {
          providers: config.providers.map((provider) => provider.name),
          session: config.session.type,
          forward: forward?.header ?? false,
          controlPanel: config.controlPanel !== false,
        },
        'auth ready',
      );
    },
    routes: () => routes,
    ui: authPanel,
  };
}

/** The `auth` service's `identify`: what the hook settled, else the request's credentials now. */
async function identifyRequest(
  req: IncomingMessage,
  deps: { bearer?: TokenVerifier; sessions: Sessions; checks: readonly IdentifyCheck[] },
): Promise<AuthUser | undefined> {
  const settled = (req as IncomingMessage & { user?: AuthUser }).user;
  if (settled !== undefined) return settled;
  const [{ bearerOf }, { identifyRefusal }] = await Promise.all([
    import('./bearer.js'),
    import('./edge-hook.js'),
  ]);
  const admitted = (user: AuthUser | undefined) =>
    user && identifyRefusal(deps.checks, user) === undefined ? user : undefined;
  const token = deps.bearer ? bearerOf(req) : undefined;
  if (token !== undefined) return deps.bearer!.verify(token).then(admitted, () => undefined);
  const session = await deps.sessions.read(req);
  return admitted(session && { ...session.user, sessionId: session.id });
}

/** Without `publicUrl`: this machine on the app's port, which only development should rely on. */
function developmentUrl(): string {
  return `http://localhost:${process.env.PORT ?? 3000}`;
}
