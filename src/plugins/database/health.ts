import type { HealthCheckDefinition, HealthCheckResult } from '../../core/health-registry.js';
import type { DatabaseConfig } from './options.js';
import type { Database, PoolStats } from './types.js';

const saturated = (stats: PoolStats) =>
  stats.waiting > 0 || (stats.total >= stats.max && stats.idle === 0);

/**
 * The critical check (a trivial query with a timeout) and, for pooled providers, an
 * informational pool-saturation check.
 *
 * When every connection is busy a ping would queue behind the work and time out, turning a
 * busy-but-healthy database into "not ready"; a connection that came back without error within
 * the last interval proves the server answers, so the ping is skipped then.
 */
export function databaseHealthChecks(
  database: Database,
  config: DatabaseConfig,
  lastAnswerAt: () => number | undefined,
): HealthCheckDefinition[] {
  const { interval, timeout, saturatedAfter } = config.healthCheck;
  const pooled = database.provider === 'postgres' || database.provider === 'mysql';

  const critical: HealthCheckDefinition = {
    name: 'database',
    critical: true,
    interval,
    timeout,
    run: async (): Promise<HealthCheckResult> => {
      const pool = database.poolStats();
      const answered = lastAnswerAt();
      if (pooled && saturated(pool) && answered !== undefined && Date.now() - answered < interval) {
        return {
          status: 'healthy',
          message: 'all connections busy; the server answered recently',
          details: { provider: database.provider, pool },
        };
      }
      await database.ping(timeout);
      return { status: 'healthy', details: { provider: database.provider, pool } };
    },
  };
  if (!pooled) return [critical];

  let saturatedSince: number | undefined;
  const pool: HealthCheckDefinition = {
    name: 'database-pool',
    critical: false,
    interval,
    timeout,
    run: async (): Promise<HealthCheckResult> => {
      const stats = database.poolStats();
      if (!saturated(stats)) {
        saturatedSince = undefined;
        return { status: 'healthy', details: { ...stats } };
      }
      saturatedSince ??= Date.now();
      const forMs = Date.now() - saturatedSince;
      if (forMs < saturatedAfter)
        return { status: 'healthy', message: 'pool busy', details: { ...stats } };
      return {
        status: 'degraded',
        message: `pool saturated for ${forMs} ms: ${stats.total - stats.idle}/${stats.max} connections busy, ${stats.waiting} waiting`,
        details: { ...stats, saturatedForMs: forMs },
      };
    },
  };
  return [critical, pool];
}
