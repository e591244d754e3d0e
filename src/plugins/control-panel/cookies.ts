import type { Request, Response } from 'express';

/** The value of cookie `name` in the request, or undefined (also for a malformed escape: no session, not a 500). */
export function cookieOf(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * One of the guard's cookies under its two names. Over HTTPS (`req.secure`, which honours
 * X-Forwarded-Proto only from a proxy the app trusts) it is `__Host-<name>`: the browser then
 * insists on Secure, Path=/ and no Domain, so neither plain http nor a sibling subdomain can
 * set or overwrite it. Over plain http (localhost in development) browsers refuse `__Host-`
 * without Secure, so the plain name is used. Both names are read, so a session made under one
 * survives a switch, and clearing clears both. Always HttpOnly and SameSite=Strict.
 */
export class GuardCookie {
  readonly secureName: string;

  constructor(readonly plainName: string) {
    this.secureName = `__Host-${plainName}`;
  }

  /** Both names: the gateway never forwards either to an upstream. */
  get names(): string[] {
    return [this.secureName, this.plainName];
  }

  /** The values present, the `__Host-` one first (it cannot have been planted over http). */
  values(req: Request): string[] {
    return this.names
      .map((name) => cookieOf(req, name))
      .filter((value): value is string => value !== undefined);
  }

  set(req: Request, res: Response, value: string, maxAgeSeconds: number): void {
    const name = req.secure ? this.secureName : this.plainName;
    res.append('set-cookie', `${name}=${value}; ${this.attributes(req.secure, maxAgeSeconds)}`);
  }

  clear(req: Request, res: Response): void {
    res.append('set-cookie', `${this.secureName}=; ${this.attributes(true, 0)}`);
    res.append('set-cookie', `${this.plainName}=; ${this.attributes(req.secure, 0)}`);
  }

  private attributes(secure: boolean, maxAgeSeconds: number): string {
    return `Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
  }
}
