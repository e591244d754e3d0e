import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ClientAddresses } from './client-address.js';
import type { EdgePipeline } from './edge.js';
import type { ConfigIssue } from './errors.js';
import { type EnvReport, type EnvSpec, inspectEnv } from './config.js';
import { maskSecrets } from './masking.js';
import type { HealthCheckDefinition, HealthRegistry } from './health-registry.js';
import type { HttpMethod, PluginStatus, RouteAccess, RoutePlane } from './plugin.js';
import type { EventBus, ServiceRegistry, Services } from './services.js';
import type { UIContribution } from './ui.js';

export type AppPhase = 'created' | 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed';

/**
 * A handler that sees a request before Express does. It returns true when it answered; the
 * health probes and the gateway's proxied routes use it to stay off Express's per-request cost.
 */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Sees an HTTP upgrade (WebSocket) request; returns true when it took the socket. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** Why a session ended: its user logged out, its absolute lifetime ran out, it was revoked, or pushed out by newer ones. */
export type SessionEndReason = 'logout' | 'expired' | 'revoked' | 'evicted';

/** Decides whether a request may reach `admin` routes; the control panel installs one. */
export interface AdminGuard {
  name: string;
  middleware: RequestHandler;
  /**
   * The check for an admin route that declares a permission (`RouteDefinition.permission`):
   * like `middleware` it lets admins in, and also a caller that holds `permission`; with
   * `partly`, one that holds some part of it (`traffic:deploy:api` of `traffic:deploy`), as the
   * core's gate asks before the body is read, checking the qualified permission after. Anyone
   * else gets 403 naming the permission. A guard without it keeps such routes admin-only: its
   * credential (Basic, a token) is the admin's.
   */
  permitting?(permission: string, partly?: boolean): RequestHandler;
  /** Who a request that passed `middleware` acts as, for audit records (a deploy's actor). */
  identify?(req: Request): string | undefined;
  /** Where a browser signs in when the guard's login happens elsewhere (an auth plugin's route). */
  loginUrl?: string;
  /** Ends the session of a request that passed `middleware` (the panel's `POST <mount>/api/logout`). */
  logout?: RequestHandler;
  /** The guard's own cookies (its session): a gateway never forwards them to an upstream. */
  privateCookies?: readonly string[];
  /**
   * Calls `listener` once when the session a request that passed `middleware` was let in with
   * ends (logout, expiry, revocation), so a long-lived response opened with it (an event
   * stream) ends too. Returns the function that removes the listener, for when the response
   * closes first. A guard whose sessions never end early, or a request without a session
   * (Basic credentials), returns a no-op.
   */
  onSessionEnd?(req: Request, listener: (reason: SessionEndReason) => void): () => void;
}

export interface RouteRecord {
  method: HttpMethod;
  path: string;
  plugin: string;
  access: RouteAccess;
  plane: RoutePlane;
  /** The permission a caller who is no admin needs (unqualified), when the route declares one. */
  permission?: string;
  description?: string;
}

export interface ConfigScope {
  scope: string;
  values: unknown;
  secretKeys: ReadonlySet<string>;
  /** Option keys that came from environment variables, and which variable. */
  env: Record<string, string>;
}

/** The effective configuration of the app and each plugin, kept for display (always masked). */
/** Something an operator should know about the configuration in force (shown on the Config page). */
export interface ConfigNotice {
  scope: string;
  level: 'info' | 'warn';
  message: string;
}

export class ConfigRegistry {
  private readonly scopes: ConfigScope[] = [];
  private readonly envSpecs: { scope: string; spec: EnvSpec }[] = [];
  private readonly noticeList: ConfigNotice[] = [];

  addNotice(notice: ConfigNotice): void {
    this.noticeList.push(notice);
  }

  notices(): ConfigNotice[] {
    return this.noticeList.map((notice) => ({ ...notice }));
  }

  addScope(scope: ConfigScope): void {
    this.scopes.push(scope);
  }

  addEnv(scope: string, spec: EnvSpec): void {
    this.envSpecs.push({ scope, spec });
  }

  /** Every scope's values with secrets masked. */
  effective(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const scope of this.scopes) out[scope.scope] = maskSecrets(scope.values, scope.secretKeys);
    return out;
  }

  /** The environment variables the app reads: set, missing or invalid (values masked). */
  environment(env: NodeJS.ProcessEnv = process.env): (EnvReport & { scope: string })[] {
    const rows: (EnvReport & { scope: string })[] = [];
    for (const { scope, spec } of this.envSpecs) {
      for (const row of inspectEnv(spec, env).report) rows.push({ ...row, scope });
    }
    return rows;
  }
}

/** What the whole app shares; one per app, never a module-level singleton. */
export interface AppContext {
  readonly name: string;
  readonly version?: string;
  readonly logger: Logger;
  readonly services: ServiceRegistry;
  readonly health: HealthRegistry;
  readonly events: EventBus;
  readonly config: ConfigRegistry;
  /** The NDJSON log file, when the logger writes one (the logs plugin reads it). */
  readonly logFile?: string;
  readonly startedAt: Date;
  phase(): AppPhase;
  /** Ready to take traffic: started, not stopping, and no critical check failing. */
  isReady(): boolean;
  /** The URL the app listens on, once started. */
  url(): string | undefined;
  plugins(): PluginStatus[];
  routes(): RouteRecord[];
  ui(): { plugin: string; contribution: UIContribution }[];
  /** Adds a handler that runs before Express (see RawHandler). */
  addRawHandler(handler: RawHandler): void;
  /** Adds a handler for upgrade requests; unclaimed upgrades are refused with 404. */
  addUpgradeHandler(handler: UpgradeHandler): void;
  /**
   * Installs the one guard before `admin` routes (the control panel does, from its `guard` option
   * or its password guard). A second guard throws a `ConfigError` naming both, never replaces one.
   */
  setAdminGuard(guard: AdminGuard): void;
  adminGuard(): AdminGuard | undefined;
  /**
   * The edge pipeline every request and upgrade goes through, in both lanes: plugins add their
   * cross-cutting steps as hooks in a named phase (`edge.add({ name, phase: 'limit', run })`),
   * in `onInit`; a raw handler that answers requests itself runs them with `edge.run`.
   */
  readonly edge: EdgePipeline;
  /** Who the client of a request is, and whether it came over TLS, under the app's one `trustProxy`. */
  readonly clients: ClientAddresses;
  /** Whether a request is for a control-plane route (see RoutePlane). */
  isControlPlane(req: IncomingMessage): boolean;
  /**
   * Adds a step that runs once for every control-plane request: after the admin guard let it in
   * (so it knows who is calling), when the guard refused it, or before the 404 when no route
   * answered it. The rate-limit plugin counts operators there. Register it in `onInit`.
   */
  addControlPlaneHook(handler: RequestHandler): void;
  /**
   * The bearer token admin routes take when no guard is installed (`management.token`, env
   * `MANAGEMENT_TOKEN`). A gateway hands it to the service processes it starts, so it holds the
   * credential to their management routes.
   */
  managementToken(): string | undefined;
}

/** What a plugin receives in its hooks and route factories. */
export interface PluginContext<TConfig = unknown> {
  readonly name: string;
  readonly config: TConfig;
  readonly logger: Logger;
  readonly app: AppContext;
  readonly events: EventBus;
  provide<K extends keyof Services & string>(key: K, value: Services[K]): void;
  get<K extends keyof Services & string>(key: K): Services[K];
  tryGet<K extends keyof Services & string>(key: K): Services[K] | undefined;
  /** Registers a health check under this plugin's name. */
  addHealthCheck(check: HealthCheckDefinition): void;
}

export function createPluginContext<TConfig>(
  app: AppContext,
  name: string,
  config: TConfig,
): PluginContext<TConfig> {
  const logger = app.logger.child({ plugin: name });
  return {
    name,
    config,
    logger,
    app,
    events: app.events,
    provide: (key, value) => app.services.provide(key, value, name),
    get: (key) => app.services.get(key),
    tryGet: (key) => app.services.tryGet(key),
    addHealthCheck: (check) => app.health.register({ plugin: name, ...check }),
  };
}

export type { ConfigIssue };
