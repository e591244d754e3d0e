import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { default as Helmet, HelmetOptions } from 'helmet';

// Loaded on first use, not when the plugins barrel is imported; synchronous, so option
// validation at createApp can run helmet's own checks.
const load = createRequire(import.meta.url);
let helmetFactory: typeof Helmet | undefined;
function helmet(options: HelmetOptions): ReturnType<typeof Helmet> {
  helmetFactory ??= load('helmet') as typeof Helmet;
  return helmetFactory(options);
}

/** One CSP directive: its sources, or `null` to remove it from the policy. */
export type CspDirectiveValue = string | readonly string[] | null;
export type CspDirectives = Record<string, CspDirectiveValue>;

/** HTTP Strict Transport Security, sent only on answers to requests that arrived over TLS. */
export interface HstsOptions {
  /** Seconds. Default one year. */
  maxAge?: number;
  includeSubDomains?: boolean;
  preload?: boolean;
}

export interface SecurityHeaderOptions {
  /** Options for helmet's other headers (Referrer-Policy, X-Frame-Options, ...). */
  helmet?: Omit<HelmetOptions, 'contentSecurityPolicy' | 'strictTransportSecurity' | 'hsts'>;
  /** Directives merged over {@link DEFAULT_CSP_DIRECTIVES}; `false` sends no CSP. */
  csp?: CspDirectives | false;
  /** Send the policy as `Content-Security-Policy-Report-Only` (to try a policy out). */
  cspReportOnly?: boolean;
  /** Default `{ maxAge: 31536000, includeSubDomains: true }`; `false` sends none. */
  hsts?: HstsOptions | false;
}

/**
 * Everything from this origin and nothing inline: the control panel (a Vite-built React app with
 * bundled scripts and styles) works under it, since React applies `style` props through the CSSOM,
 * which CSP does not restrict. No `upgrade-insecure-requests`: it would break plain-HTTP
 * deployments (HSTS does that job on HTTPS).
 */
export const DEFAULT_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
};

const ONE_YEAR = 31_536_000;

/** `scriptSrc` and `script-src` name the same directive; merging needs one spelling. */
function dashed(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The effective directives: the defaults with the overrides applied. */
export function cspDirectives(overrides: CspDirectives = {}): Record<string, string[]> {
  const merged: Record<string, string[]> = Object.fromEntries(
    Object.entries(DEFAULT_CSP_DIRECTIVES).map(([name, value]) => [name, [...value]]),
  );
  for (const [name, value] of Object.entries(overrides)) {
    const key = dashed(name);
    if (value === null) delete merged[key];
    else merged[key] = typeof value === 'string' ? [value] : [...value];
  }
  return merged;
}

/**
 * The headers helmet would set, computed once: helmet validates the options (an unquoted
 * `self` throws here, at start-up) and a fixed set of headers is then just copied per response.
 * The routing plugin can add the same headers to proxied responses.
 * @example securityHeaders()['content-security-policy'] // "default-src 'self';base-uri 'self';..."
 */
export function securityHeaders(options: SecurityHeaderOptions = {}): Record<string, string> {
  const hsts =
    options.hsts === false ? false : { maxAge: ONE_YEAR, includeSubDomains: true, ...options.hsts };
  const middleware = helmet({
    ...options.helmet,
    contentSecurityPolicy:
      options.csp === false
        ? false
        : {
            useDefaults: false,
            reportOnly: options.cspReportOnly ?? false,
            directives: cspDirectives(options.csp),
          },
    strictTransportSecurity: hsts,
  } as HelmetOptions);
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return headers;
}

/** Headers of the document set that protect data too, kept as configured on data answers. */
const DATA_HEADERS = new Set(['x-content-type-options', 'cross-origin-resource-policy']);
/** A data answer opened as a page runs nothing and can't be framed (OWASP's REST advice). */
export const DATA_CSP = "default-src 'none';frame-ancestors 'none'";

/**
 * The headers for answers that are data, not documents (JSON, plain text, images: see
 * `isDataContentType`): `nosniff` (keeps the browser to the declared type, so the answer can't
 * be read as HTML), the resource policy (no cross-origin embedding), and a CSP that lets nothing
 * run or frame it. The rest of the document set (COOP, Origin-Agent-Cluster, X-Frame-Options,
 * X-DNS-Prefetch-Control, X-Download-Options, ...) only acts on documents, and would cost some
 * 400 bytes on every API answer.
 */
export function dataHeaders(documentHeaders: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(documentHeaders))
    if (DATA_HEADERS.has(name)) headers[name] = value;
  if (documentHeaders['content-security-policy'] !== undefined)
    headers['content-security-policy'] = DATA_CSP;
  else if (documentHeaders['content-security-policy-report-only'] !== undefined)
    headers['content-security-policy-report-only'] = DATA_CSP;
  return headers;
}
