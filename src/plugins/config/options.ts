import { z } from 'zod';
import type { EnvSpec, EnvVariable } from '../../core/config.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z
  .string()
  .regex(
    ENV_NAME,
    'an environment variable name (letters, digits and "_", not starting with a digit)',
  );
const zodSchema = z.custom<z.ZodType>((value) => value instanceof z.ZodType, {
  error: 'a zod schema',
});
const envVariable = z.union([
  zodSchema,
  z.strictObject({
    schema: zodSchema,
    description: z.string().optional(),
    secret: z.boolean().optional(),
  }),
]);

export const configOptionsSchema = z.strictObject({
  /** Where the report is served. */
  path: z
    .string()
    .regex(/^\/[^?#\s]*$/, 'a path starting with "/"')
    .default('/api/config'),
  /**
   * Environment variables the product reads outside `createApp({ env })` and plugin options
   * (by itself, or through a library: `HTTP_PROXY`, `NODE_OPTIONS`...), so the report lists
   * them too. Names alone are reported as set or missing; with a schema, invalid values show
   * as `invalid` (logged as a warning at start-up, without stopping it).
   */
  env: z.union([z.array(envName), z.record(envName, envVariable)]).default([]),
});

export type ConfigOptions = z.input<typeof configOptionsSchema>;
export type ConfigPluginConfig = z.output<typeof configOptionsSchema>;

/** A list of names becomes optional strings; a spec is kept as given. */
export function toEnvSpec(env: ConfigPluginConfig['env']): EnvSpec {
  if (!Array.isArray(env)) return env as Record<string, EnvVariable | z.ZodType>;
  return Object.fromEntries(env.map((name) => [name, z.string().optional()]));
}
