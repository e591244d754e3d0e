import type { Request } from 'express';
import type { AdminGuard, PluginContext } from '../../core/context.js';
import { PLUGIN_ORDER, type RouteDefinition, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { panelRoutes } from './api.js';
import { createPasswordGuard, type ControlPanelGuard } from './guard.js';
import {
  controlPanelEnv,
  controlPanelOptionsSchema,
  type ControlPanelConfig,
  type ControlPanelSettings,
} from './options.js';
import { defaultUiDir, panelUiRoute } from './shell.js';

export type { Branding, ControlPanelConfig } from './options.js';
export type {
  ControlPanelGuard,
  GuardSession,
  PasswordGuardOptions,
  SessionInfo,
} from './guard.js';
export type { PanelDescription } from './api.js';
export { createPasswordGuard } from './guard.js';
export { hashPassword, verifyPasswordHash } from './password.js';
export { builtinPages } from './builtin-pages.js';
export { CPANEL_ERRORS } from './errors.js';

export type ControlPanelOptions = ControlPanelSettings & {
  /** Replaces the built-in password guard, e.g. with an auth plugin's. */
  guard?: ControlPanelGuard;
};

/**
 * The control panel at `/cpanel`: a React UI (built into `dist-ui/cpanel`) that renders the
 * pages plugins contribute as data, behind a guard that also protects every `admin` route.
 * @example
 * createApp({ name: 'gateway', plugins: [createHealthPlugin(), createControlPanelPlugin({ branding: { title: 'Acme ops' } })] })
 * // ADMIN_PASSWORD=... (or ADMIN_PASSWORD_HASH from hashPassword()) before start
 */
export function createControlPanelPlugin(
  options: ControlPanelOptions = {},
): ServerPlugin<ControlPanelConfig> {
  const { guard: customGuard, ...settings } = options;
  let guard: ControlPanelGuard | undefined = customGuard;
  let uiRoute: RouteDefinition | undefined;

  return {
    name: 'control-panel',
    version: CORE_VERSION,
    // Early, so the guard is installed before any plugin serves an admin route.
    order: PLUGIN_ORDER.early,
    config: { schema: controlPanelOptionsSchema, options: settings, env: controlPanelEnv },

    // An auth plugin that guards the panel (`controlPanel: { adminRoles }`) installs its guard first.
    optionalDependencies: ['auth'],

    async onInit(ctx: PluginContext<ControlPanelConfig>) {
      const config = ctx.config;
      const installed = customGuard ? undefined : ctx.app.adminGuard();
      if (installed) {
        // An earlier plugin guards admin routes already: the panel keeps that guard rather than
        // failing start-up with two, and installs no password guard of its own.
        guard = keptGuard(installed);
        ctx.logger.info(
          { guard: installed.name },
          'control panel keeps the admin guard already installed; no password guard',
        );
      }
      uiRoute = panelUiRoute(config.uiDir ?? defaultUiDir(), {
        mountPath: config.mountPath,
        branding: config.branding,
        loginUrl: guard && !guard.login ? guard.loginUrl : undefined,
      });
      if (installed) {
        ctx.logger.info(
          { mountPath: config.mountPath, guard: installed.name },
          'control panel ready',
        );
        return;
      }
      guard ??= createPasswordGuard({
        user: config.user,
        password: config.password,
        passwordHash: config.passwordHash,
        sessionSecret: config.sessionSecret,
        sessionTtl: config.sessionTtl,
        maxSessions: config.maxSessions,
        sessionStore: config.sessionStore,
        loginRateLimit: config.loginRateLimit,
        accountLoginDelay: config.accountLoginDelay,
        trustedDeviceTtl: config.trustedDeviceTtl,
      });
      await guard.init?.(ctx as PluginContext<unknown>);
      const current = guard;
      // A replacement guard without identify still names its session's user as the actor.
      const identify = (req: Request) => current.identify?.(req) ?? current.session(req)?.user;
      ctx.app.setAdminGuard({
        name: current.name,
        middleware: current.middleware,
        permitting: current.permitting?.bind(current),
        identify,
        privateCookies: current.privateCookies,
        onSessionEnd: current.onSessionEnd?.bind(current),
      });
      ctx.logger.info({ mountPath: config.mountPath, guard: guard.name }, 'control panel ready');
    },

    async onShutdown() {
      await guard?.close?.();
    },

    routes(ctx) {
      const { mountPath, branding } = ctx.config;
      return [...panelRoutes({ mountPath, branding, guard: guard!, logger: ctx.logger }), uiRoute!];
    },
  };
}

/** The panel's view of a guard another plugin installed: its user is whoever `identify` names. */
function keptGuard(installed: AdminGuard): ControlPanelGuard {
  return {
    ...installed,
    session(req) {
      const user = installed.identify?.(req);
      return user === undefined ? undefined : { user };
    },
  };
}
