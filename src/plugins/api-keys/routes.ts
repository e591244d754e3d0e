import type { Request } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { RouteDefinition } from '../../core/plugin.js';
import type { AuthUser } from '../auth/index.js';
import type { ApiKeysConfig } from './options.js';
import type { ApiKeyStore } from './store.js';

/** A permission name: `traffic:deploy`, `read:*`, `admin:*`. */
const SCOPE = /^[a-z0-9*][a-z0-9*:._-]{0,99}$/i;
/** A tenant id, as the database plugin's `forTenant` and the tenants plugin take it. */
const TENANT = /^[a-z0-9_]{1,48}$/;

const invalid = (field: string, detail: string) =>
  new HttpError(400, 'API_KEYS_INVALID_BODY', `${field}: ${detail}`, { details: { field } });

/** The body of `POST <basePath>`, checked field by field. */
function newKeyBody(
  body: unknown,
  config: ApiKeysConfig,
): { name: string; scopes: string[]; expiresIn?: number; tenantId?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('body', 'a JSON object { name, scopes, expiresIn?, tenantId? }');
  const { name, scopes, expiresIn, tenantId, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw invalid(unknown, 'not a field of a key');
  if (typeof name !== 'string' || name.trim() === '' || name.trim().length > 100)
    throw invalid('name', '1 to 100 characters');
  if (
    !Array.isArray(scopes) ||
    scopes.length > config.maxScopes ||
    !scopes.every((scope) => typeof scope === 'string' && SCOPE.test(scope))
  )
    throw invalid(
      'scopes',
      `a list of at most ${config.maxScopes} permission names like "traffic:deploy" or "read:*"`,
    );
  const longest = config.maxLifetime;
  if (
    expiresIn !== undefined &&
    (typeof expiresIn !== 'number' ||
      !Number.isInteger(expiresIn) ||
      expiresIn < 1 ||
      expiresIn > (longest ?? 10 * 365 * 86_400))
  )
    throw invalid('expiresIn', `whole seconds from 1 to ${longest ?? 10 * 365 * 86_400}`);
  if (tenantId !== undefined && (typeof tenantId !== 'string' || !TENANT.test(tenantId)))
    throw invalid('tenantId', 'a tenant id: 1 to 48 characters of a-z, 0-9 and _');
  return {
    ...(tenantId === undefined ? {} : { tenantId: tenantId as string }),
    name: name.trim(),
    scopes: [...new Set(scopes as string[])],
    expiresIn: (expiresIn as number | undefined) ?? longest,
  };
}

/** Who did it, for the log: the admin's id, or the operator without one (a local call). */
const actorOf = (req: Request) => (req as Request & { user?: AuthUser }).user?.id ?? 'operator';

/** The admin API: create (the key shown once), list (never the key), revoke. */
export function apiKeysRoutes(deps: {
  store: () => ApiKeyStore;
  config: ApiKeysConfig;
  logger: Logger;
}): RouteDefinition[] {
  const base = deps.config.basePath;
  return [
    {
      // Admins only, on purpose: a key that could create keys could mint itself any scope.
      method: 'post',
      path: base,
      access: 'admin',
      description:
        'Creates an API key { name, scopes, expiresIn?, tenantId? }: the answer shows it once',
      handler: async (req, res) => {
        const created = await deps.store().create(newKeyBody(req.body, deps.config));
        deps.logger.info(
          {
            key: created.id,
            name: created.name,
            scopes: created.scopes,
            tenant: created.tenantId,
            by: actorOf(req),
          },
          'api key created',
        );
        res.status(201).set('cache-control', 'no-store').json(created);
      },
    },
    {
      method: 'get',
      path: base,
      access: 'admin',
      permission: 'api-keys:read',
      description: 'API keys: id, name, prefix, scopes and times, never the key',
      handler: async (_req, res) => {
        res.json({ keys: await deps.store().list() });
      },
    },
    {
      method: 'delete',
      path: `${base}/:id`,
      access: 'admin',
      permission: 'api-keys:revoke',
      description: 'Revokes an API key: refused at once on every instance',
      handler: async (req, res) => {
        const revoked = await deps.store().revoke(String(req.params.id));
        deps.logger.info(
          { key: revoked.id, name: revoked.name, by: actorOf(req) },
          'api key revoked',
        );
        res.status(204).end();
      },
    },
  ];
}
