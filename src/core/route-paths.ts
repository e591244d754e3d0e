import type { IncomingMessage } from 'node:http';
import { pathToRegexp } from 'path-to-regexp';

/**
 * A set of Express route paths, matched as Express matches them (path-to-regexp, as Express 5's
 * router uses it): letter case ignored, an optional trailing slash, parameters in one segment.
 * The control plane is one (admin routes and the control panel's pages, counted apart by rate
 * limits); the routing plugin keeps another of the app's own routes, which proxy routes never
 * shadow. Fixed paths are one set lookup; the rest one combined expression.
 */
export class RoutePaths {
  private readonly fixed = new Set<string>();
  private readonly sources: string[] = [];
  private pattern: RegExp | undefined;

  add(path: string): void {
    if (!path.startsWith('/')) return;
    if (/[:*{(]/.test(path)) {
      this.sources.push(
        pathToRegexp(path, { sensitive: false, trailing: true, end: true }).regexp.source,
      );
      this.pattern = new RegExp(this.sources.map((source) => `(?:${source})`).join('|'), 'i');
    } else this.fixed.add(withoutTrailingSlash(path.toLowerCase()));
  }

  /** Whether a path (no query) is one of the set's routes. */
  has(path: string): boolean {
    return (
      this.fixed.has(withoutTrailingSlash(path.toLowerCase())) || this.pattern?.test(path) === true
    );
  }

  /** Whether a request's path is one of the set's routes. */
  includes(req: IncomingMessage): boolean {
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const end = url.indexOf('?');
    return this.has(end === -1 ? url : url.slice(0, end));
  }
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
