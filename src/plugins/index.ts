/**
 * Every plugin factory. Heavy libraries are imported lazily inside each plugin, so importing
 * this module stays light.
 */
export { createHealthPlugin, healthReport } from './health/index.js';
export type { HealthCheckOptions, HealthPluginOptions, HealthReport } from './health/index.js';
export { createServicesPlugin, ProcessSupervisor } from './services/index.js';
export type { LocalServiceOptions, LocalServices, ServicesOptions, SupervisedStatus } from './services/index.js';
export { createDiagnosticsPlugin } from './diagnostics/index.js';
export type { DiagnosticsPluginOptions } from './diagnostics/index.js';
export { createConfigPlugin } from './config/index.js';
export type { ConfigPluginOptions } from './config/index.js';
export { createLogsPlugin } from './logs/index.js';
export type { LogPage, LogsOptions, LogsService, LogsStats } from './logs/index.js';
export { createCachePlugin } from './cache/index.js';
export type { Cache, CacheOptions, CacheProvider, CacheSetOptions, CacheStats } from './cache/index.js';
