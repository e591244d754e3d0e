import type { RouteDefinition } from '../../core/plugin.js';
import type { UIContribution } from '../../core/ui.js';
import type { AuthConfig } from './options.js';

/** Where the Auth page reads its settings. */
export const AUTH_STATUS_PATH = '/api/auth/status';

/** What the Auth page shows: settings only, never a secret, token or session. */
export function authStatus(config: AuthConfig): Record<string, unknown> {
  return {
    providers: config.providers
      .map((provider) => `${provider.name} (${provider.kind}): ${provider.issuer}`)
      .join(', '),
    session: config.session.type,
    cookie: config.session.cookie,
    idleTimeout: `${Math.round(config.session.idleTimeout / 60_000)} min`,
    absoluteTimeout: `${Math.round(config.session.absoluteTimeout / 60_000)} min`,
    forwardedIdentity: config.forward === false ? 'off' : config.forward.header,
    controlPanelGuard:
      config.controlPanel === false ? 'off' : `roles ${config.controlPanel.adminRoles.join(', ')}`,
    login: config.routes.login,
    logout: config.routes.logout,
    callback: config.routes.callback,
    me: config.routes.me,
  };
}

/** The admin route behind the Auth page. */
export function authStatusRoute(config: AuthConfig): RouteDefinition {
  const status = authStatus(config);
  return {
    method: 'get',
    path: AUTH_STATUS_PATH,
    access: 'admin',
    permission: 'auth:read',
    description: 'The auth plugin’s providers, session type and routes',
    handler: (_req, res) => void res.json(status),
  };
}

/** The Auth page: which providers verify callers, how sessions are kept, the login routes. */
export const authPanel: UIContribution = {
  pages: [
    {
      id: 'auth',
      title: 'Auth',
      route: '/auth',
      icon: 'users',
      order: 45,
      views: [{ kind: 'keyValue', title: 'Authentication', endpoint: AUTH_STATUS_PATH }],
    },
  ],
};
