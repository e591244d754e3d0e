import { z } from 'zod';
import type { HealthCheckResult } from '../../core/health-registry.js';

/** Milliseconds between two runs of a check declared in the options, unless it sets `interval`. */
export const DEFAULT_CHECK_INTERVAL = 10_000;
/** Milliseconds before a run of a check declared in the options counts as failed, unless it sets `timeout`. */
export const DEFAULT_CHECK_TIMEOUT = 2_000;
/** Upper bounds keep a typo (an interval in microseconds, say) from silently disabling a check. */
const MAX_CHECK_INTERVAL = 86_400_000;
const MAX_CHECK_TIMEOUT = 300_000;

/** A custom check: resolve (or return a result) when healthy, throw when not. */
export type CustomCheckRun = () => Promise<HealthCheckResult | void>;

const common = {
  name: z.string().trim().min(1, 'a non-empty check name'),
  /** A failing critical check makes readiness 503; an informational one only degrades the report. */
  critical: z.boolean().default(true),
  interval: z.number().int().positive().max(MAX_CHECK_INTERVAL).default(DEFAULT_CHECK_INTERVAL),
  timeout: z.number().int().positive().max(MAX_CHECK_TIMEOUT).default(DEFAULT_CHECK_TIMEOUT),
};

const statusCode = z
  .number()
  .int()
  .min(100, 'an HTTP status code (100-599)')
  .max(599, 'an HTTP status code (100-599)');

const httpCheck = z.strictObject({
  type: z.literal('http'),
  ...common,
  url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }),
  method: z.enum(['GET', 'HEAD']).default('GET'),
  /** The status (or statuses) that count as healthy. Default: any 2xx. */
  expectStatus: z.union([statusCode, z.array(statusCode).min(1)]).optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

const tcpCheck = z.strictObject({
  type: z.literal('tcp'),
  ...common,
  host: z.string().trim().min(1, 'a host name or address'),
  port: z.number().int().min(1, 'a TCP port (1-65535)').max(65535, 'a TCP port (1-65535)'),
});

const customCheck = z.strictObject({
  type: z.literal('custom'),
  ...common,
  run: z.custom<CustomCheckRun>((value) => typeof value === 'function', {
    error: 'a function returning a promise',
  }),
});

const check = z.discriminatedUnion('type', [httpCheck, tcpCheck, customCheck], {
  error: "a check whose type is 'http', 'tcp' or 'custom'",
});

export const healthOptionsSchema = z
  .strictObject({
    checks: z.array(check).default([]),
  })
  .superRefine((options, issues) => {
    const seen = new Set<string>();
    options.checks.forEach((entry, index) => {
      if (seen.has(entry.name)) {
        issues.addIssue({
          code: 'custom',
          path: ['checks', index, 'name'],
          message: `a unique check name ("${entry.name}" is used twice)`,
          input: entry.name,
        });
      }
      seen.add(entry.name);
    });
  });

export type HealthConfig = z.output<typeof healthOptionsSchema>;
export type HealthCheckConfig = HealthConfig['checks'][number];
export type HttpCheckConfig = z.output<typeof httpCheck>;
export type TcpCheckConfig = z.output<typeof tcpCheck>;

interface CheckCommon {
  name: string;
  /** Default true: a failure makes readiness 503. False: informational, it only degrades the report. */
  critical?: boolean;
  /** Milliseconds between runs. Default {@link DEFAULT_CHECK_INTERVAL} (10 s). */
  interval?: number;
  /** Milliseconds before a run counts as failed. Default {@link DEFAULT_CHECK_TIMEOUT} (2 s). */
  timeout?: number;
}

/** GETs (or HEADs) a URL; healthy when the status matches `expectStatus` (default any 2xx). Redirects are not followed. */
export interface HttpCheckOptions extends CheckCommon {
  type: 'http';
  url: string;
  method?: 'GET' | 'HEAD';
  expectStatus?: number | number[];
  headers?: Record<string, string>;
}

/** Opens a real TCP connection; healthy when it connects. */
export interface TcpCheckOptions extends CheckCommon {
  type: 'tcp';
  host: string;
  port: number;
}

export interface CustomCheckOptions extends CheckCommon {
  type: 'custom';
  run: CustomCheckRun;
}

export type HealthCheckOptions = HttpCheckOptions | TcpCheckOptions | CustomCheckOptions;

export interface HealthPluginOptions {
  /** Checks beyond those plugins contribute through `healthCheck`. */
  checks?: HealthCheckOptions[];
}
