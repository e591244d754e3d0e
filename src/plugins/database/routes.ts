import type { RouteDefinition } from '../../core/plugin.js';
import { HttpError } from '../../core/errors.js';
import { maskUrlPassword } from '../../core/masking.js';
import type { DatabaseConfig } from './options.js';
import { describeError } from './startup.js';
import type { Database } from './types.js';

/** GET /api/database (admin): provider, pool and applied migrations; never a password. */
export function databaseRoutes(
  current: () => Database | undefined,
  config: DatabaseConfig,
  target: () => string | undefined,
): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/database',
      access: 'admin',
      permission: 'database:read',
      description: 'Database provider, pool statistics and applied migrations',
      handler: async (_req, res) => {
        const database = current();
        if (!database) throw new HttpError(503, 'DATABASE_NOT_READY', 'The database is not open.');
        let migrations;
        try {
          migrations = await database.migrations();
        } catch (error) {
          throw new HttpError(
            503,
            'DATABASE_UNAVAILABLE',
            `The database does not answer: ${describeError(error)}`,
            { cause: error },
          );
        }
        res.json({
          provider: database.provider,
          dialect: database.dialect,
          target: target(),
          url:
            config.url === undefined
              ? undefined
              : maskUrlPassword(config.url).replace(/(passw(or)?d=)[^&]*/gi, '$1********'),
          schema: database.schema,
          pool: database.poolStats(),
          migrations: migrations.map(({ plugin, name, appliedAt }) => ({
            plugin,
            name,
            appliedAt,
          })),
        });
      },
    },
  ];
}
