/**
 * Every plugin factory. Heavy libraries are imported lazily inside each plugin, so importing
 * this module stays light.
 */
export { createHealthPlugin, healthReport } from './health/index.js';
export type { HealthCheckOptions, HealthPluginOptions, HealthReport } from './health/index.js';
export { createServicesPlugin, ProcessSupervisor } from './services/index.js';
export type {
  LocalServiceOptions,
  LocalServices,
  ServicesOptions,
  SupervisedStatus,
} from './services/index.js';
export { createDiagnosticsPlugin } from './diagnostics/index.js';
export type { DiagnosticsOptions } from './diagnostics/index.js';
export { createConfigPlugin } from './config/index.js';
export type { ConfigOptions } from './config/index.js';
export { createLogsPlugin } from './logs/index.js';
export type { LogPage, LogsOptions, LogsService, LogsStats } from './logs/index.js';
export { createCachePlugin } from './cache/index.js';
export type {
  Cache,
  CacheOptions,
  CacheProvider,
  CacheSetOptions,
  CacheStats,
} from './cache/index.js';
export { createDatabasePlugin } from './database/index.js';
export type {
  Database,
  DatabaseOptions,
  DatabaseProvider,
  DatabaseTransaction,
  MigrationFolders,
  MigrationRecord,
} from './database/index.js';
export { createStaticPlugin, DEFAULT_HASH_PATTERN, DEFAULT_SPA_EXCLUDE } from './static/index.js';
export type { StaticController, StaticPluginOptions, StaticRelease } from './static/index.js';
export { createRateLimitPlugin, clientIp, createClientIp } from './rate-limit/index.js';
export type {
  ClientIpResolver,
  RateLimiter,
  RateLimitPluginOptions,
  RateLimitRule,
  TrustProxy,
} from './rate-limit/index.js';
export {
  createSecurityPlugin,
  securityHeaders,
  cspDirectives,
  DEFAULT_CSP_DIRECTIVES,
} from './security/index.js';
export type { SecurityPluginOptions, SecurityService } from './security/index.js';
export {
  createControlPanelPlugin,
  createPasswordGuard,
  hashPassword,
  verifyPasswordHash,
} from './control-panel/index.js';
export type {
  Branding,
  ControlPanelGuard,
  ControlPanelOptions,
  GuardSession,
  PanelDescription,
  PasswordGuardOptions,
} from './control-panel/index.js';
export { createRoutingPlugin } from './routing/index.js';
export type {
  CorsConfig,
  ProxyRouteConfig,
  RouteConfig,
  Router,
  RoutingOptions,
} from './routing/index.js';
export { createTrafficPlugin } from './traffic/index.js';
export type {
  ServiceView,
  SlotView,
  Traffic,
  TrafficOptions,
  TrafficPluginOptions,
  TrafficServiceOptions,
  TransitionView,
} from './traffic/index.js';
export {
  createAuthPlugin,
  auth0Adapter,
  gatewayAdapter,
  jwtAdapter,
  requireUser,
  supabaseAdapter,
} from './auth/index.js';
export type {
  AuthOptions,
  AuthProvider,
  AuthService,
  AuthSession,
  AuthUser,
  GatewayAdapterOptions,
  JwtAdapterOptions,
} from './auth/index.js';
export { createRolesPlugin, requirePermission } from './roles/index.js';
export type {
  RequirePermissionOptions,
  RoleDecision,
  RoleGrant,
  RolesOptions,
  RolesService,
  RolesUser,
} from './roles/index.js';
export { createUsersPlugin, USER_ID_CLAIM, userIdOf } from './users/index.js';
export type { User, UserIdentity, UserPage, UsersOptions } from './users/index.js';
export { createApiKeysPlugin } from './api-keys/index.js';
export type { ApiKey, ApiKeysOptions } from './api-keys/index.js';
export { createTenantsPlugin, requireTenant, tenantDatabase, tenantOf } from './tenants/index.js';
export type { Membership, TenantContext, TenantsOptions, TenantsService } from './tenants/index.js';
