import { z } from 'zod';
import { errorMessage } from '../../core/errors.js';
import { securityHeaders, type SecurityHeaderOptions } from './headers.js';

export type SecurityPluginOptions = SecurityHeaderOptions;

export const HSTS = 'strict-transport-security';

const directiveValue = z.union([z.string(), z.array(z.string()), z.null()], {
  error: 'a source list like ["\'self\'"], or null to remove',
});

export const securityOptionsSchema = z
  .strictObject({
    helmet: z.record(z.string(), z.unknown()).optional(),
    csp: z.union([z.literal(false), z.record(z.string(), directiveValue)]).optional(),
    cspReportOnly: z.boolean().default(false),
    hsts: z
      .union([
        z.literal(false),
        z.strictObject({
          maxAge: z.number().int().min(0).optional(),
          includeSubDomains: z.boolean().optional(),
          preload: z.boolean().optional(),
        }),
      ])
      .optional(),
  })
  .transform((options, ctx) => {
    // Helmet checks the values (quoted keywords, known tokens); its message names the header.
    try {
      // HSTS is held apart: sent over plain HTTP it would only advertise a policy that is not in force.
      const { [HSTS]: hsts, ...headers } = securityHeaders(options as SecurityHeaderOptions);
      return { ...options, headers, hsts };
    } catch (error) {
      const message = errorMessage(error);
      const path = message.startsWith('Content-Security-Policy')
        ? 'csp'
        : message.startsWith('Strict-Transport-Security')
          ? 'hsts'
          : 'helmet';
      ctx.issues.push({
        code: 'custom',
        path: [path],
        message: `valid ${path} settings (${message})`,
        input: options[path],
      });
      return z.NEVER;
    }
  });

export type SecurityConfig = z.output<typeof securityOptionsSchema>;
