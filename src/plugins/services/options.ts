import { z } from 'zod';

const restartSchema = z
  .object({
    initialDelay: z.number().int().positive().default(500),
    maxDelay: z.number().int().positive().default(30_000),
    factor: z.number().min(1).default(2),
    resetAfter: z.number().int().positive().default(30_000),
  })
  .prefault({});

export const serviceSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a lower-case name like "api"'),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  /** Given to the process as PORT; the health check and routes reach it there. */
  port: z.number().int().min(1).max(65535),
  host: z.string().default('127.0.0.1'),
  /** Readiness endpoint of the service. Default `/health/ready`. */
  healthPath: z.string().startsWith('/').default('/health/ready'),
  healthInterval: z.number().int().positive().default(2_000),
  healthTimeout: z.number().int().positive().default(1_000),
  restart: z.union([z.literal(false), restartSchema]).default(() => restartSchema.parse({})),
  stopTimeout: z.number().int().positive().default(10_000),
});

export const servicesOptions = z.object({ services: z.array(serviceSchema).default([]) });

export type ServicesOptions = z.input<typeof servicesOptions>;
export type LocalServiceOptions = z.input<typeof serviceSchema>;

export type ServicesConfig = z.output<typeof servicesOptions>;
