import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../core/context.js';
import { HttpError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RouteDefinition } from '../../core/plugin.js';
import type { UINavigationItem, UIPage, UIView, UIWidget } from '../../core/ui.js';
import { builtinPages } from './builtin-pages.js';
import type { ControlPanelGuard } from './guard.js';
import type { Branding } from './options.js';

/** The body of `GET <mount>/api/ui`: everything the panel renders, built-in pages included. */
export interface PanelDescription {
  app: { name: string; version?: string };
  branding: Branding;
  user?: string;
  pages: (UIPage & { plugin: string })[];
  navigation: (UINavigationItem & { plugin: string })[];
  widgets: (UIWidget & { plugin: string })[];
}

const byOrder = (a: { order?: number }, b: { order?: number }) =>
  (a.order ?? 100) - (b.order ?? 100);

const viewKey = (view: UIView) =>
  'endpoint' in view ? `${view.kind} ${view.endpoint}` : view.kind;

/**
 * Gathers the built-in pages and every plugin's contribution. Pages that plugins mark `shared`
 * with the same id become one page (see `UIPage.shared`); any other page whose id or route is
 * taken is dropped with a warning rather than shadowing one silently. Widgets that repeat a
 * Dashboard view (same kind and endpoint) are left out.
 */
export function describePanel(
  app: AppContext,
  mountPath: string,
  branding: Branding,
  logger: Logger,
): Omit<PanelDescription, 'user'> {
  const registered = new Set(app.plugins().map((plugin) => plugin.name));
  const builtins = builtinPages(registered, mountPath);
  const contributions = app.ui();
  const pages: PanelDescription['pages'] = builtins.map((page) => ({
    ...page,
    plugin: 'control-panel',
  }));
  const contributed = contributions.flatMap(({ plugin, contribution }) =>
    (contribution.pages ?? []).map((page) => ({ ...page, plugin })),
  );
  // How pages were joined is no concern of the UI.
  for (const { shared: _shared, viewOrder: _viewOrder, ...page } of joinSharedPages(contributed)) {
    const clash = pages.find(
      (existing) => existing.id === page.id || existing.route === page.route,
    );
    if (clash) {
      logger.warn(
        { plugin: page.plugin, page: page.id, route: page.route, taken: clash.plugin },
        'control panel page dropped: id or route already taken',
      );
      continue;
    }
    pages.push(page);
  }
  const dashboard = new Set(
    (builtins.find((page) => page.id === 'dashboard')?.views ?? []).map(viewKey),
  );
  const navigation: PanelDescription['navigation'] = [];
  const widgets: PanelDescription['widgets'] = [];
  for (const { plugin, contribution } of contributions) {
    for (const item of contribution.navigation ?? []) navigation.push({ ...item, plugin });
    for (const widget of contribution.widgets ?? [])
      if (!dashboard.has(viewKey(widget.view))) widgets.push({ ...widget, plugin });
  }
  return {
    app: { name: app.name, version: app.version },
    branding,
    pages: pages.sort(byOrder),
    navigation: navigation.sort(byOrder),
    widgets: widgets.sort(byOrder),
  };
}

/**
 * Shared pages with one id become one, where the first of them stood, at the lowest `order`;
 * views follow by `viewOrder`, and the first of them gives the title, route, icon and plugin.
 */
function joinSharedPages(pages: PanelDescription['pages']): PanelDescription['pages'] {
  const groups: PanelDescription['pages'][] = [];
  for (const page of pages) {
    const group = page.shared
      ? groups.find(([first]) => first.shared && first.id === page.id)
      : undefined;
    if (group) group.push(page);
    else groups.push([page]);
  }
  const byViewOrder = (a: UIPage, b: UIPage) =>
    (a.viewOrder ?? a.order ?? 100) - (b.viewOrder ?? b.order ?? 100);
  return groups.map((group) => {
    if (group.length === 1) return group[0];
    const [host, ...rest] = [...group].sort(byViewOrder);
    const order = Math.min(...group.map((page) => page.order ?? 100));
    return { ...host, order, views: [host, ...rest].flatMap((page) => page.views) };
  });
}

/**
 * The panel's own API. Everything but login is `admin`, so it goes through the guard (and the
 * admin gate marks each answer no-store); login, public, says no-store itself.
 */
export function panelRoutes(options: {
  mountPath: string;
  branding: Branding;
  guard: ControlPanelGuard;
  logger: Logger;
}): RouteDefinition[] {
  const { mountPath, guard } = options;
  const api = `${mountPath}/api`;
  const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    next();
  };
  const routes: RouteDefinition[] = [
    {
      method: 'get',
      path: `${api}/session`,
      access: 'admin',
      description: 'Who is logged in, and the CSRF token for state-changing calls',
      handler: (req, res) => void res.json(guard.session(req) ?? { user: 'unknown' }),
    },
    {
      method: 'get',
      path: `${api}/ui`,
      access: 'admin',
      description: 'Pages, navigation and widgets contributed by every plugin',
      handler: (req, res) =>
        void res.json({
          ...describePanel(req.context, mountPath, options.branding, options.logger),
          user: guard.session(req)?.user,
        }),
    },
    {
      method: 'get',
      path: `${api}/plugins`,
      access: 'admin',
      description: 'Every plugin with its state, version and dependencies',
      handler: (req, res) => void res.json({ plugins: req.context.plugins() }),
    },
  ];
  routes.push(...sessionRoutes(api, guard, noStore));
  if (guard.login) {
    routes.push({
      method: 'post',
      path: `${api}/login`,
      plane: 'control',
      description: 'Log in to the control panel',
      handler: [noStore, guard.login],
    });
  }
  routes.push({
    method: 'post',
    path: `${api}/logout`,
    access: 'admin',
    description: 'End the control panel session',
    handler: guard.logout ?? ((_req, res) => void res.status(204).end()),
  });
  return routes;
}

const revokeBody = z
  .strictObject({ keepCurrent: z.boolean().default(false) })
  .default({ keepCurrent: false });

/** `GET` and revoke the calling user's sessions, when the guard keeps sessions it can list and end. */
function sessionRoutes(
  api: string,
  guard: ControlPanelGuard,
  noStore: RequestHandler,
): RouteDefinition[] {
  const { sessions, revokeSessions } = guard;
  if (!sessions || !revokeSessions) return [];
  const userOf = (req: Request): string => {
    const user = guard.session(req)?.user;
    if (user === undefined)
      throw new HttpError(
        403,
        'CPANEL_USER_UNKNOWN',
        'The guard did not say which user this request acts as.',
      );
    return user;
  };
  return [
    {
      method: 'get',
      path: `${api}/sessions`,
      access: 'admin',
      description: "The calling user's live sessions (never their secrets)",
      handler: [
        noStore,
        async (req, res) => {
          const current = guard.session(req)?.id;
          res.json({
            sessions: (await sessions.call(guard, userOf(req))).map((session) => ({
              ...session,
              current: session.id === current,
            })),
          });
        },
      ],
    },
    {
      method: 'post',
      path: `${api}/sessions/revoke`,
      access: 'admin',
      description:
        'End every session of the calling user (`{ keepCurrent: true }` keeps this one); their log streams close',
      handler: [
        noStore,
        async (req, res) => {
          const parsed = revokeBody.safeParse(req.body);
          if (!parsed.success)
            throw new HttpError(
              400,
              'CPANEL_REVOKE_INVALID',
              'Send JSON { "keepCurrent"?: boolean } or no body.',
            );
          const keep = parsed.data.keepCurrent ? guard.session(req)?.id : undefined;
          res.json({ revoked: await revokeSessions.call(guard, userOf(req), { keep }) });
        },
      ],
    },
  ];
}
