/**
 * @qwickapps/server core: `createApp`, the plugin types, errors, config and logging helpers.
 * Plugin factories live in `@qwickapps/server/plugins`.
 */
export { createApp } from './core/app.js';
export type { App, AppOptions } from './core/app.js';
export { MANAGEMENT_TOKEN_ENV } from './core/management.js';
export type { ManagementOptions } from './core/management.js';
export { crossSiteReason, isLocalHost } from './core/origin-check.js';
export type { OriginCheckRequest } from './core/origin-check.js';
export { addDefaultHeaders, EDGE_PHASES } from './core/edge.js';
export type {
  EdgeExchange,
  EdgeHook,
  EdgeIdentity,
  EdgeLane,
  EdgeNext,
  EdgeOutcome,
  EdgePhase,
  EdgeRoute,
} from './core/edge.js';
export { definePlugin, PLUGIN_ORDER } from './core/plugin.js';
export { CORE_VERSION } from './core/version.js';
export type {
  HttpMethod,
  MiddlewareDefinition,
  PluginConfig,
  PluginHealthCheck,
  PluginRequirements,
  PluginState,
  PluginStatus,
  RouteAccess,
  RouteDefinition,
  ServerPlugin,
} from './core/plugin.js';
export type {
  AdminGuard,
  AppContext,
  AppPhase,
  ConfigScope,
  PluginContext,
  RawHandler,
  RouteRecord,
  SessionEndReason,
  UpgradeHandler,
} from './core/context.js';
export { onSessionEnd } from './core/admin-gate.js';
export { ConfigRegistry } from './core/context.js';
export {
  durationSchema,
  formatDuration,
  MAX_TIMER_DELAY,
  parseDuration,
  toMilliseconds,
} from './core/duration.js';
export type { Duration, DurationRules, DurationUnit } from './core/duration.js';
export {
  HttpError,
  ConfigError,
  PluginGraphError,
  PluginLifecycleError,
  PluginRequirementError,
  errorMessage,
  CORE_ERRORS,
  STARTUP_ERRORS,
} from './core/errors.js';
export type { ConfigIssue, ErrorCodeTable } from './core/errors.js';
export { PROBLEM_CONTENT_TYPE, problemBody, sendProblem, toProblem } from './core/problem.js';
export type { ProblemDetails } from './core/problem.js';
export { inspectEnv, readEnv } from './core/config.js';
export {
  MASK,
  isSecretName,
  isSecretSchema,
  maskSecrets,
  maskUrlPassword,
  secret,
  secretKeysOf,
} from './core/masking.js';
export type { EnvReport, EnvSpec, EnvValues, EnvVariable } from './core/config.js';
export { HealthRegistry, overallStatus } from './core/health-registry.js';
export type {
  HealthCheckDefinition,
  HealthCheckResult,
  HealthCheckSnapshot,
  HealthStatus,
  HealthSummary,
} from './core/health-registry.js';
export { createLogger, flushLogger, REDACTED_PATHS, RotatingFileStream } from './core/logger.js';
export type { LogFileOptions, Logger, LoggerOptions } from './core/logger.js';
export { logWhenDone, requestIdOf, requestLoggers } from './core/request-log.js';
export { REDACTED_QUERY_PARAMS, redactUrl } from './core/redact-url.js';
export type { RequestLogExtras, RequestLoggers } from './core/request-log.js';
export { orderPlugins } from './core/registry.js';
export { EventBus, ServiceRegistry } from './core/services.js';
export type { AppEvents, Services } from './core/services.js';
export type { ShutdownOptions } from './core/shutdown.js';
export type { ServerOptions } from './core/server.js';
export { formView } from './core/ui.js';
export type {
  UIField,
  UIJsonSchema,
  UIViewKind,
  UIAction,
  UICardAction,
  UICardColour,
  UIColumn,
  UIColumnFormat,
  UIContribution,
  NavigationItem,
  UINavigationItem,
  UIPage,
  UIView,
  UIWidget,
} from './core/ui.js';
