import type { IncomingMessage } from 'node:http';
import type { CorsConfig } from './options.js';

/**
 * The gateway's CORS policy, applied to proxied and Express routes alike. Without a `cors`
 * option nothing is added, so browsers keep the same-origin default.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string> | '*';
  private readonly methods: string;
  private readonly allowedHeaders: string;
  private readonly exposed: string;

  constructor(private readonly config: CorsConfig) {
    this.origins =
      config.origin === '*' ? '*' : new Set(config.origin.map((origin) => origin.toLowerCase()));
    this.methods = config.methods.join(', ');
    this.allowedHeaders = config.headers.join(', ');
    this.exposed = config.exposedHeaders.join(', ');
  }

  allows(origin: string): boolean {
    return this.origins === '*' || this.origins.has(origin.toLowerCase());
  }

  /** True for a browser preflight (OPTIONS with Origin and Access-Control-Request-Method). */
  static isPreflight(req: IncomingMessage): boolean {
    return (
      req.method === 'OPTIONS' &&
      req.headers.origin !== undefined &&
      req.headers['access-control-request-method'] !== undefined
    );
  }

  /** Headers for an actual (non-preflight) response, as a flat list; empty for a foreign origin. */
  responseHeaders(req: IncomingMessage): string[] {
    const origin = req.headers.origin;
    const out: string[] = this.origins === '*' ? [] : ['vary', 'Origin'];
    if (origin === undefined || !this.allows(origin)) return out;
    out.push('access-control-allow-origin', this.origins === '*' ? '*' : origin);
    if (this.config.credentials) out.push('access-control-allow-credentials', 'true');
    if (this.exposed) out.push('access-control-expose-headers', this.exposed);
    return out;
  }

  /**
   * Headers answering a preflight. A foreign origin, method or header gets no allow headers, so
   * the browser refuses the real request; the answer is still a plain 204.
   */
  preflightHeaders(req: IncomingMessage): string[] {
    const origin = req.headers.origin ?? '';
    const out: string[] = [
      'vary',
      'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    ];
    const method = String(req.headers['access-control-request-method']).toUpperCase();
    const asked = String(req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean);
    const allowedHeaders = new Set(this.config.headers.map((name) => name.toLowerCase()));
    const ok =
      this.allows(origin) &&
      (this.config.methods as readonly string[]).includes(method) &&
      asked.every((name) => allowedHeaders.has(name));
    if (!ok) return out;
    out.push('access-control-allow-origin', this.origins === '*' ? '*' : origin);
    if (this.config.credentials) out.push('access-control-allow-credentials', 'true');
    out.push('access-control-allow-methods', this.methods);
    if (this.allowedHeaders) out.push('access-control-allow-headers', this.allowedHeaders);
    out.push('access-control-max-age', String(this.config.maxAge));
    return out;
  }
}
