import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface PanelSession {
  id: string;
  user: string;
  /** Sent back by the UI as `x-csrf-token` on every state-changing call. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/**
 * Server-side sessions in memory, referenced by a signed cookie.
 *
 * Why server-side rather than a stateless signed token: logout must end the session at once
 * (a stateless token stays valid until it expires), and the CSRF token lives beside the session.
 * The cost is that sessions do not survive a restart and are not shared between gateway
 * instances; an operator simply logs in again. The map is bounded by `maxSessions`.
 */
export class SessionStore {
  private readonly sessions = new Map<string, PanelSession>();
  private readonly key: Buffer;

  constructor(
    private readonly options: { secret?: string; ttl: number; maxSessions: number; now?: () => number },
  ) {
    this.key = options.secret ? Buffer.from(options.secret) : randomBytes(32);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  create(user: string): PanelSession {
    this.sweep();
    while (this.sessions.size >= this.options.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const now = this.now();
    const session: PanelSession = {
      id: randomBytes(24).toString('base64url'),
      user,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: now,
      expiresAt: now + this.options.ttl,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The cookie value: the id and its HMAC, so a forged or altered id is refused unread. */
  cookieValue(session: PanelSession): string {
    return `${session.id}.${this.sign(session.id)}`;
  }

  /** The live session a cookie value names, or undefined (bad signature, unknown, expired). */
  fromCookie(value: string | undefined): PanelSession | undefined {
    if (!value) return undefined;
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.sign(id));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sign(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('base64url');
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}

/**
 * Counts failed logins per client address in a fixed window. Bounded: when `maxClients`
 * addresses are tracked, expired windows are dropped, then the oldest.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly options: { max: number; windowMs: number; maxClients?: number; now?: () => number }) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Seconds until the client may try again, or 0 when it may try now. */
  retryAfter(client: string): number {
    const entry = this.failures.get(client);
    if (!entry) return 0;
    const now = this.now();
    if (entry.resetAt <= now) {
      this.failures.delete(client);
      return 0;
    }
    return entry.count >= this.options.max ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  fail(client: string): void {
    const now = this.now();
    const entry = this.failures.get(client);
    if (entry && entry.resetAt > now) {
      entry.count++;
      return;
    }
    const limit = this.options.maxClients ?? 10_000;
    if (this.failures.size >= limit) {
      for (const [key, value] of this.failures) if (value.resetAt <= now) this.failures.delete(key);
      while (this.failures.size >= limit) this.failures.delete(this.failures.keys().next().value as string);
    }
    this.failures.set(client, { count: 1, resetAt: now + this.options.windowMs });
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}
