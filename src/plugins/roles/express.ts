import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { HttpError } from '../../core/errors.js';
import type { RolesResource, RolesService, RolesUser } from './types.js';

/** Where the plugin's middleware leaves the app's service on each request, for `requirePermission`. */
const SERVICE = Symbol('qwickapps.roles');

type WithService = IncomingMessage & { [SERVICE]?: RolesService };

/** The plugin's middleware: one property per request, so the guard needs no module state. */
export function attachService(service: RolesService): RequestHandler {
  return (req, _res, next) => {
    (req as WithService)[SERVICE] = service;
    next();
  };
}

export interface RequirePermissionOptions {
  /** ABAC: the resource the permission is about (loaded from the request), checked with its conditions. */
  resource?: (req: Request) => RolesResource | undefined | Promise<RolesResource | undefined>;
}

/**
 * Express middleware for a route that needs a permission: 401 problem+json without a signed-in
 * user (`req.user`, set by the auth plugin), 403 `ROLES_PERMISSION_MISSING` naming the missing
 * permission otherwise. Wildcards, inheritance and (ABAC) conditions are the roles plugin's.
 * @example { method: 'put', path: '/api/content/:id', handler: [requirePermission('write:content'), save] }
 */
export function requirePermission(
  permission: string | readonly string[],
  options: RequirePermissionOptions = {},
): RequestHandler {
  const permissions = typeof permission === 'string' ? [permission] : permission;
  return (req, res, next) => {
    const service = (req as WithService)[SERVICE];
    if (service === undefined)
      return next(
        new Error('requirePermission() needs createRolesPlugin() registered in the same app'),
      );
    const user = (req as Request & { user?: RolesUser }).user;
    if (user === undefined) {
      res.setHeader('www-authenticate', 'Bearer');
      return next(
        new HttpError(
          401,
          'ROLES_UNAUTHENTICATED',
          'Sign in, or send Authorization: Bearer <token>.',
        ),
      );
    }
    const decide = (resource: RolesResource | undefined) => {
      const refusal = service.refusal(user, permissions, resource);
      if (refusal === undefined) return next();
      next(
        new HttpError(refusal.status, refusal.code, refusal.detail, {
          details: { missing: refusal.missing },
        }),
      );
    };
    if (options.resource === undefined) return decide(undefined);
    Promise.resolve(options.resource(req)).then(decide, next);
  };
}
