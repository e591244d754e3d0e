import type { z } from 'zod';
import { addDefaultHeaders } from '../../core/edge.js';
import { PLUGIN_ORDER, type ServerPlugin } from '../../core/plugin.js';
import { CORE_VERSION } from '../../core/version.js';
import { dataHeaders } from './headers.js';
import {
  HSTS,
  securityOptionsSchema,
  type SecurityConfig,
  type SecurityPluginOptions,
} from './options.js';

export {
  DATA_CSP,
  DEFAULT_CSP_DIRECTIVES,
  cspDirectives,
  dataHeaders,
  securityHeaders,
} from './headers.js';
export type {
  CspDirectiveValue,
  CspDirectives,
  HstsOptions,
  SecurityHeaderOptions,
} from './headers.js';

/** The headers every Express response carries, for plugins answering outside Express. */
export interface SecurityService {
  /** Headers for every answer: lower-case names to values, e.g. `content-security-policy`. */
  headers(): Record<string, string>;
  /**
   * The `Strict-Transport-Security` value, for answers to requests that arrived over TLS
   * (directly, or through a proxy the app trusts to say so); undefined when HSTS is off.
   */
  hsts(): string | undefined;
}

declare module '../../core/services.js' {
  interface Services {
    security: SecurityService;
  }
}

export type { SecurityConfig, SecurityPluginOptions } from './options.js';

/**
 * Secure response headers through helmet, with a Content-Security-Policy that allows only this
 * origin (the control panel works under it) and HSTS. Headers are computed once at start-up and
 * copied onto every Express response; `ctx.get('security').headers()` gives them to plugins that
 * answer before Express. HSTS goes only on answers to requests that arrived over TLS: directly,
 * or with `X-Forwarded-Proto: https` from a proxy the app trusts (Express's `trust proxy`, the
 * app's `trustProxy` option). Answers the gateway proxies or makes itself that are data, not
 * documents (JSON, plain text, images), get only the headers that protect data (`nosniff`, the
 * resource policy and a CSP that lets nothing run: `dataHeaders`). CORS belongs to the routing plugin.
 * @example
 * createSecurityPlugin({ csp: { 'img-src': ["'self'", 'data:', 'https://images.example.com'] }, hsts: { maxAge: 63072000, preload: true } })
 */
export function createSecurityPlugin(
  options: SecurityPluginOptions = {},
): ServerPlugin<SecurityConfig> {
  return {
    name: 'security',
    version: CORE_VERSION,
    // First, so every answer (404s and errors included) carries the headers.
    order: PLUGIN_ORDER.early,
    config: { schema: securityOptionsSchema as z.ZodType<SecurityConfig>, options },
    onInit(ctx) {
      const { headers, hsts } = ctx.config;
      ctx.provide('security', { headers: () => ({ ...headers }), hsts: () => hsts });
      // Flat lists computed once, for documents and for data, over plain HTTP and over TLS.
      // Frozen: every request shares them, so a hook that pushed to them would fail loudly.
      const flat = (set: Record<string, string>) =>
        Object.freeze(Object.entries(set).flatMap(([name, value]) => [name.toLowerCase(), value]));
      const plain = { document: flat(headers), data: flat(dataHeaders(headers)) };
      const overTls =
        hsts === undefined
          ? plain
          : {
              document: Object.freeze([...plain.document, HSTS, hsts]),
              data: Object.freeze([...plain.data, HSTS, hsts]),
            };
      const clients = ctx.app.clients;
      ctx.app.edge.add({
        name: 'security',
        phase: 'headers',
        run(exchange) {
          // TLS on this socket, or X-Forwarded-Proto from a proxy under the app's trustProxy.
          const lists = overTls !== plain && clients.secure(exchange.req) ? overTls : plain;
          addDefaultHeaders(exchange, lists.document, lists.data);
          return false;
        },
      });
    },
  };
}
