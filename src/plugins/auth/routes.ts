import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { ClientAddresses } from '../../core/client-address.js';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition } from '../../core/plugin.js';
import { backchannelHandler } from './backchannel.js';
import type { LoginFlow } from './login.js';
import { LogoutGuard, logoutHandler } from './logout.js';
import type { AuthConfig } from './options.js';
import type { Sessions } from './sessions.js';
import type { AuthSession, AuthUser } from './types.js';

export interface AuthRoutesDeps {
  config: AuthConfig;
  /** The public origin (`config.publicUrl`, or the development default the factory chose). */
  publicUrl: string;
  sessions: Sessions;
  flow: LoginFlow;
  /** The caller, by bearer token or session (the plugin's edge identity). */
  identify(req: Request, res: Response): Promise<AuthUser | undefined>;
  logger: Logger;
  clients: ClientAddresses;
}

/** Forms post urlencoded bodies; the kernel reads JSON only. Small: a login or a logout token. */
const forms = express.urlencoded({ extended: false, limit: '16kb' });

/** What the admin list shows of a session: never the provider's tokens. */
const listed = (session: AuthSession) => ({
  id: session.id,
  user: session.user.id,
  provider: session.user.provider,
  createdAt: new Date(session.createdAt).toISOString(),
  lastSeenAt: new Date(session.lastSeenAt).toISOString(),
});

/**
 * The auth plugin's routes: login, callback, logout and `me` for browsers; back-channel logout
 * for the OP; and the admin routes that list and end sessions.
 * @example routes: () => authRoutes({ config, publicUrl, sessions, flow, identify, logger, clients: ctx.app.clients })
 */
export function authRoutes(deps: AuthRoutesDeps): RouteDefinition[] {
  const { config, sessions, flow } = deps;
  const { routes } = config;
  const secrets = config.session.secret === undefined ? [] : [config.session.secret].flat();
  const guard = new LogoutGuard(new URL(deps.publicUrl).origin, secrets);
  const definitions: RouteDefinition[] = [];

  if (flow.oidc.length > 0)
    definitions.push(
      {
        method: 'get',
        path: routes.login,
        handler: (req, res, next) => flow.start(req, res, next),
        description: 'Starts an OpenID Connect login (`?returnTo=/path`, `?provider=name`).',
      },
      {
        method: 'get',
        path: routes.callback,
        handler: (req, res, next) => flow.callback(req, res, next),
        description: "The OP's return: verifies the login and starts a session.",
      },
    );
  if (flow.hasPassword)
    definitions.push({
      method: 'post',
      path: routes.login,
      handler: [forms, (req, res) => flow.password(req, res)],
      description: 'Email and password login (Supabase).',
    });

  definitions.push(
    {
      method: 'post',
      path: routes.logout,
      handler: logoutHandler({
        sessions,
        flow,
        guard,
        publicUrl: deps.publicUrl,
        logger: deps.logger,
      }),
      description: 'Ends the session here and at the OP.',
    },
    {
      method: 'get',
      path: routes.logout,
      handler: (_req, res) => {
        res.setHeader('allow', 'POST');
        throw new HttpError(
          405,
          'AUTH_METHOD_NOT_ALLOWED',
          'Logout takes POST (a link must not sign anyone out).',
        );
      },
    },
    {
      method: 'get',
      path: routes.me,
      handler: async (req, res) => {
        const user = await deps.identify(req, res);
        res.setHeader('cache-control', 'no-store');
        if (!user) throw new HttpError(401, 'AUTH_TOKEN_MISSING', 'Sign in first.');
        if (user.sessionId) res.setHeader('x-csrf-token', guard.tokenFor(user.sessionId));
        res.json(user);
      },
      description: 'The signed-in caller.',
    },
    {
      method: 'post',
      path: routes.backchannelLogout,
      handler: [forms, backchannelHandler({ flow, sessions, logger: deps.logger })],
      description: 'OpenID Connect Back-Channel Logout: the OP ends sessions.',
    },
    {
      method: 'get',
      path: '/api/auth/sessions',
      access: 'admin',
      permission: 'auth:read',
      handler: async (req, res) => {
        const user = req.query.user;
        if (typeof user !== 'string' || user.length === 0 || user.length > 512)
          throw new HttpError(400, 'AUTH_INVALID_QUERY', 'Name the user: ?user=<id>.');
        res.json({ sessions: (await sessions.listFor(user)).map(listed) });
      },
      description: "A user's live sessions.",
    },
    {
      method: 'delete',
      path: '/api/auth/sessions/:id',
      access: 'admin',
      permission: 'auth:revoke',
      handler: async (req, res) => {
        if (!(await sessions.revoke(String(req.params.id))))
          throw new HttpError(404, 'AUTH_SESSION_NOT_FOUND', 'No live session has that id.');
        res.status(204).end();
      },
      description: 'Ends one session.',
    },
    {
      method: 'post',
      path: '/api/auth/users/:id/revoke',
      access: 'admin',
      permission: 'auth:revoke',
      handler: async (req, res) => {
        res.json({ revoked: await sessions.revokeUser(String(req.params.id)) });
      },
      description: 'Ends every session of a user at once.',
    },
  );
  return definitions;
}
