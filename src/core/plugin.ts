import type { Request, RequestHandler } from 'express';
import type { z } from 'zod';
import type { PluginContext } from './context.js';
import type { HealthCheckResult } from './health-registry.js';
import type { UIContribution } from './ui.js';
// Route handlers see `req.id` and `req.context` wherever RouteDefinition is seen, so a product
// importing only `@qwickapps/server/plugins` (or one plugin's subpath) gets them typed too.
import './types.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options' | 'all';

/**
 * Who may call a route. `public` routes are open; `admin` routes (management endpoints such as
 * `/api/config`) go through the app's admin guard, which the control panel installs.
 */
export type RouteAccess = 'public' | 'admin';

/**
 * Whose traffic a route carries. `control`: operators managing the product (every `admin`
 * route, and the control panel's own pages and login); it is rate-limited in a bucket of its own,
 * after the guard, so product traffic never crowds it out. `data`: the product's users.
 */
export type RoutePlane = 'control' | 'data';

/**
 * A permission narrowed by the request: `qualifier` names the one thing the call acts on (the
 * service deployed, from the body), and a caller needs `${permission}:${qualifier}`
 * (`traffic:deploy:api`), which `traffic:deploy`, `traffic:*` and `*` cover too. When it
 * answers undefined (or more than one segment) the caller needs `permission` itself.
 */
export interface QualifiedPermission {
  permission: string;
  /** Runs once the body is read (and `req.params`, `req.query` are set). Must not throw. */
  qualifier(req: Request): string | undefined;
}

/**
 * What a caller who is no admin must hold to use an `admin` route: a permission name
 * (`config:read`), or one qualified by the request (see `QualifiedPermission`).
 */
export type RoutePermission = string | QualifiedPermission;

export interface RouteDefinition {
  method: HttpMethod;
  path: string;
  handler: RequestHandler | RequestHandler[];
  /** Default `public`. */
  access?: RouteAccess;
  /** Default `control` for `admin` routes, else `data`. */
  plane?: RoutePlane;
  /**
   * For `admin` routes: besides admins, a caller holding this permission may use the route (a
   * CI key scoped to `traffic:deploy:api`). Name it `<area>:<verb>` (`traffic:deploy`,
   * `config:read`, `cache:flush`). Without it the route is for admins only. Only a guard that
   * knows permissions (the auth plugin's) lets such callers in; the others admit admins only.
   */
  permission?: RoutePermission;
  /**
   * A catch-all (a frontend's SPA fallback) mounted after every other plugin's routes, whatever
   * the plugin order, so it never shadows them. Default false.
   */
  fallback?: boolean;
  /**
   * Path prefixes under `path` the route leaves to the routes after it (`/cpanel/api/` for the
   * control panel's catch-all): such a request steps past it before any gate or hook runs.
   */
  except?: readonly string[];
  description?: string;
}

export interface MiddlewareDefinition {
  /** Mount path; default every path. */
  path?: string;
  handler: RequestHandler;
  /** Within a plugin, lower runs first. */
  order?: number;
}

/** A check a plugin contributes to the health registry. */
export interface PluginHealthCheck {
  run: () => Promise<HealthCheckResult | void>;
  /** A failing critical check makes readiness 503. Default true. */
  critical?: boolean;
  /** Milliseconds between runs. Default 10 000. */
  interval?: number;
  /** Milliseconds before a run counts as failed. Default 2 000. */
  timeout?: number;
}

/** A plugin's validated configuration: its zod schema and the raw options given to its factory. */
export interface PluginConfig<TConfig> {
  schema: z.ZodType<TConfig>;
  options: unknown;
  /** Option keys read from environment variables when not given, e.g. `{ url: 'DATABASE_URL' }`. */
  env?: Record<string, string>;
}

/**
 * Where a plugin stands among plugins that do not depend on each other (`ServerPlugin.order`):
 * lower runs earlier (onInit, routes, raw handlers), and stops later.
 * @example definePlugin({ name: 'audit', order: PLUGIN_ORDER.early, onInit(ctx) {} })
 */
export const PLUGIN_ORDER = {
  /** What the rest stands on or what wraps every answer: security headers, the admin guard, the database, health probes. */
  early: 10,
  /** Local child processes, started before the plugins that serve or route to them. */
  processes: 90,
  /** Every plugin that says nothing. */
  default: 100,
  /** The proxy router, after the plugins that answer before Express, so a `/*` route never hides them. */
  routing: 200,
  /** Catch-all routes (a frontend's SPA fallback), after every other plugin's routes. */
  last: 1000,
} as const;

/**
 * Versions a plugin needs, as semver ranges: `core` for the framework (`CORE_VERSION`),
 * `plugins` for other plugins by name. `createApp` checks them all before any `onInit` and
 * fails once, listing each unmet one with both sides (`users 1.2.0 requires database ^2.0.0,
 * found 1.4.1`). A plugin named here must be registered, unless it is one of the plugin's
 * `optionalDependencies` (then its range applies only when it is there); a plugin without a
 * `version` fails every range. A prerelease inside a range satisfies it (`1.5.0-beta.1` is in
 * `^1.0.0`); one below its floor does not (`2.0.0-rc.1` is not in `^2.0.0`; write `^2.0.0-rc.1`).
 * @example definePlugin({ name: 'users', version: '1.2.0', requires: { core: '^0.1.0', plugins: { database: '^0.1.0' } } })
 */
export interface PluginRequirements {
  core?: string;
  plugins?: Record<string, string>;
}

/**
 * A function of the plugin's context, declared with method syntax so that a plugin with a
 * specific config type still fits where any plugin is expected (`ServerPlugin<unknown>[]`).
 */
type ContextFunction<TConfig, R> = { bivariant(context: PluginContext<TConfig>): R }['bivariant'];

/**
 * The one extension primitive. Every capability is a plugin built by `createXPlugin(options)`.
 * @example
 * const hello = definePlugin({
 *   name: 'hello',
 *   routes: [{ method: 'get', path: '/api/v1/hello', handler: (_req, res) => res.json({ hello: 'world' }) }],
 * })
 */
export interface ServerPlugin<TConfig = unknown> {
  name: string;
  /** A semver version (`1.2.0`), checked against other plugins' `requires.plugins` ranges. */
  version?: string;
  /** What this plugin needs, checked by `createApp` before any plugin starts (see {@link PluginRequirements}). */
  requires?: PluginRequirements;
  /** Lower runs earlier among plugins that do not depend on each other. Default `PLUGIN_ORDER.default` (100). */
  order?: number;
  /** Names of plugins that must initialise first; start-up fails when one is missing. */
  dependencies?: string[];
  /**
   * Plugins this one uses when they are there (`ctx.tryGet`): ordered before it like
   * `dependencies` when registered, ignored when absent.
   */
  optionalDependencies?: string[];
  config?: PluginConfig<TConfig>;

  onInit?(context: PluginContext<TConfig>): Promise<void> | void;
  onReady?(context: PluginContext<TConfig>): Promise<void> | void;
  onShutdown?(context: PluginContext<TConfig>): Promise<void> | void;

  /** Routes, or a function of the context called after `onInit`. */
  routes?: RouteDefinition[] | ContextFunction<TConfig, RouteDefinition[]>;
  middleware?: MiddlewareDefinition[] | ContextFunction<TConfig, MiddlewareDefinition[]>;

  healthCheck?: (() => Promise<HealthCheckResult | void>) | PluginHealthCheck;

  ui?: UIContribution | ContextFunction<TConfig, UIContribution>;

  /**
   * Companion plugins this one brings (the routing plugin's static routes are static plugins):
   * the app registers each beside it like any plugin it was given, so each is validated, ordered,
   * initialised, health-checked, listed and stopped on its own, under its own unique name.
   */
  plugins?: ServerPlugin<unknown>[];
}

/** Only adds types: `definePlugin({ ... })` infers the config type from the schema. */
export function definePlugin<TConfig = unknown>(
  plugin: ServerPlugin<TConfig>,
): ServerPlugin<TConfig> {
  return plugin;
}

export type PluginState =
  'registered' | 'initialising' | 'initialised' | 'ready' | 'failed' | 'stopping' | 'stopped';

export interface PluginStatus {
  name: string;
  version?: string;
  dependencies: string[];
  /** The plugin that brought this one (see `ServerPlugin.plugins`). */
  companionOf?: string;
  state: PluginState;
  error?: string;
  initMs?: number;
}
