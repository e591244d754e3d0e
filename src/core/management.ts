import { z } from 'zod';
import type { EnvSpec } from './config.js';
import { secret } from './masking.js';

/** How `admin` routes answer when no guard (the control panel) is installed. */
export interface ManagementOptions {
  /**
   * A bearer token (at least 32 characters; env `MANAGEMENT_TOKEN`). When set, admin routes
   * answer only `Authorization: Bearer <token>`, from any address; a loopback caller without it
   * is refused. A gateway gives its own token to the service processes it starts, so it holds
   * the credential to their management routes. Default none: direct local callers only.
   */
  token?: string;
  /**
   * Host names, besides localhost, *.localhost, 127.x.x.x and [::1], that a direct local caller
   * may address management routes to (any port). Default none.
   */
  allowedHosts?: string[];
}

/** The environment variable a gateway sets for its service processes, and any app reads. */
export const MANAGEMENT_TOKEN_ENV = 'MANAGEMENT_TOKEN';

export const managementSchema = z
  .strictObject({
    token: secret(
      z.string().min(32, 'at least 32 characters').max(1024, 'at most 1024 characters'),
    ).optional(),
    allowedHosts: z
      .array(
        z
          .string()
          .regex(
            /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$|^\[[0-9a-f:.]+\]$/i,
            'a host name like "api.internal" (no port)',
          )
          .transform((host) => host.toLowerCase()),
      )
      .default([]),
  })
  .prefault({});

/** Listed by the config plugin with the app's own variables (always masked). */
export const managementEnv: EnvSpec = {
  [MANAGEMENT_TOKEN_ENV]: {
    schema: z.string().optional(),
    secret: true,
    description: 'Bearer token for admin routes when no guard is installed',
  },
};

/**
 * The management options with the token taken from `MANAGEMENT_TOKEN` when none was given, and
 * how to name a problem with it: the variable when it came from there.
 */
export function withManagementEnv<T extends { management?: ManagementOptions }>(
  options: T,
  env: NodeJS.ProcessEnv = process.env,
): { input: T; rename: (path: string) => string } {
  const fromEnv =
    options.management?.token === undefined &&
    env[MANAGEMENT_TOKEN_ENV] !== undefined &&
    env[MANAGEMENT_TOKEN_ENV] !== '';
  const input = fromEnv
    ? { ...options, management: { ...options.management, token: env[MANAGEMENT_TOKEN_ENV] } }
    : options;
  return {
    input,
    rename: (path) => (fromEnv && path === 'management.token' ? MANAGEMENT_TOKEN_ENV : path),
  };
}
