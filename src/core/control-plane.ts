import type { IncomingMessage } from 'node:http';
import { pathToRegexp } from 'path-to-regexp';

/**
 * Which requests belong to the control plane: management routes (`access: 'admin'`) and routes a
 * plugin declares `plane: 'control'` (the control panel's UI and login). Rate limits count them
 * in a bucket of their own, so a flood of product traffic never locks an operator out of a
 * deploy or a rollback. Paths match as Express matches them: letter case ignored, an optional
 * trailing slash, parameters in one segment.
 */
export class ControlPlane {
  private readonly fixed = new Set<string>();
  private readonly patterns: RegExp[] = [];

  add(path: string): void {
    if (/[:*{(]/.test(path))
      this.patterns.push(
        pathToRegexp(path, { sensitive: false, trailing: true, end: true }).regexp,
      );
    else this.fixed.add(withoutTrailingSlash(path.toLowerCase()));
  }

  /** Whether a request's path is one of the control plane's routes. */
  includes(req: IncomingMessage): boolean {
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const end = url.indexOf('?');
    const path = end === -1 ? url : url.slice(0, end);
    if (this.fixed.has(withoutTrailingSlash(path.toLowerCase()))) return true;
    for (const pattern of this.patterns) if (pattern.test(path)) return true;
    return false;
  }
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
