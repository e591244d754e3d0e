import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionEndReason } from '../../core/context.js';
import type { SharedSessions } from './redis-sessions.js';

export interface PanelSession {
  /** Secret: the cookie carries it (signed). Never listed or logged. */
  id: string;
  /** Names the session in lists and revocations without giving away the id. */
  handle: string;
  user: string;
  /** Where the login came from, to tell sessions apart in a list. */
  client?: string;
  userAgent?: string;
  /** Sent back by the UI as `x-csrf-token` on every state-changing call. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/** One session of a user as `GET <mount>/api/sessions` lists it: nothing in it lets anyone use the session. */
export interface SessionInfo {
  id: string;
  createdAt: string;
  expiresAt: string;
  /** The client address the login came from. */
  client?: string;
  userAgent?: string;
}

/** A session as it is listed: its public handle, never the id its cookie carries. */
export function sessionInfo(session: PanelSession): SessionInfo {
  return {
    id: session.handle,
    createdAt: new Date(session.createdAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
    client: session.client,
    userAgent: session.userAgent,
  };
}

export type SessionEndListener = (reason: SessionEndReason) => void;

/** What a session's end is waiting on: its listeners, and the timer for its expiry while any listen. */
interface EndWatch {
  listeners: Set<SessionEndListener>;
  timer?: NodeJS.Timeout;
}

/** A user agent is kept only to tell sessions apart; a long one is cut. */
const MAX_USER_AGENT_LENGTH = 256;

/** setTimeout fires at once beyond 2^31 - 1 ms (about 24.8 days); longer expiries re-arm. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

export interface SessionStoreOptions {
  secret?: string;
  ttl: number;
  maxSessions: number;
  now?: () => number;
  /** Told when a session-end listener throws; the other listeners still run. */
  onListenerError?: (error: unknown) => void;
  /**
   * Sessions every gateway reads (Redis): the async methods (`open`, `find`, `close`, `list`,
   * `revokeAll`) go through it, and ends announced by other gateways end sessions here too.
   */
  shared?: SharedSessions;
}

/**
 * Server-side sessions in memory, referenced by a signed cookie.
 *
 * Why server-side rather than a stateless signed token: logout must end the session at once
 * (a stateless token stays valid until it expires), and the CSRF token lives beside the session.
 * In memory alone, sessions do not survive a restart and are not shared between gateway
 * instances (an operator simply logs in again), and the map is bounded by `maxSessions`. With
 * `shared` (Redis), sessions live there, expiring with their ttl, and every gateway takes them.
 *
 * Whatever ends a session (logout, expiry, eviction) tells its end listeners, so responses
 * opened with it (event streams) end with it. Expiry is found by one timer per session that
 * has listeners, armed for its `expiresAt` and cleared when the last listener leaves.
 */
export class SessionStore {
  private readonly sessions = new Map<string, PanelSession>();
  private readonly watches = new Map<string, EndWatch>();
  private readonly key: Buffer;

  constructor(private readonly options: SessionStoreOptions) {
    const secret = options.shared?.signingKey ?? options.secret;
    this.key = secret ? Buffer.from(secret) : randomBytes(32);
    // Ended through another gateway: its listeners here (open log streams) are told too.
    options.shared?.onEnded((id, reason) => this.end(id, reason));
  }

  /** Starts a session (stored where every gateway reads it, when shared). */
  async open(
    user: string,
    origin: { client?: string; userAgent?: string } = {},
  ): Promise<PanelSession> {
    const session = this.create(user, origin);
    await this.options.shared?.put(session);
    return session;
  }

  /** `fromCookie`, from the shared store when there is one (this gateway may not have seen it). */
  async find(value: string | undefined): Promise<PanelSession | undefined> {
    const shared = this.options.shared;
    if (!shared) return this.fromCookie(value);
    const id = this.verifiedId(value);
    if (id === undefined) return undefined;
    const session = await shared.get(id);
    if (!session || session.expiresAt <= this.now()) {
      this.end(id, 'expired');
      return undefined;
    }
    // A local copy for end listeners and their expiry timer.
    this.sessions.set(id, session);
    return session;
  }

  /** Ends a session everywhere: here, and through the shared store on every gateway. */
  async close(session: PanelSession, reason: SessionEndReason): Promise<void> {
    this.end(session.id, reason);
    await this.options.shared?.remove(session, reason);
  }

  /** `ofUser`, from the shared store when there is one. */
  async list(user: string): Promise<PanelSession[]> {
    return this.options.shared ? this.options.shared.ofUser(user) : this.ofUser(user);
  }

  /** `revoke`, on every gateway when shared. */
  async revokeAll(user: string, keep?: string): Promise<number> {
    let revoked = 0;
    for (const session of await this.list(user)) {
      if (session.handle === keep) continue;
      await this.close(session, 'revoked');
      revoked++;
    }
    return revoked;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  create(user: string, origin: { client?: string; userAgent?: string } = {}): PanelSession {
    this.sweep();
    // Shared sessions are bounded by their ttl in Redis; the local map only mirrors them.
    while (!this.options.shared && this.sessions.size >= this.options.maxSessions) {
      this.end(this.sessions.keys().next().value as string, 'evicted');
    }
    const now = this.now();
    const session: PanelSession = {
      id: randomBytes(24).toString('base64url'),
      handle: randomBytes(12).toString('base64url'),
      user,
      client: origin.client,
      userAgent: origin.userAgent?.slice(0, MAX_USER_AGENT_LENGTH),
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
    const id = this.verifiedId(value);
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.end(id, 'expired');
      return undefined;
    }
    return session;
  }

  /** Ends a session: it is refused from now on, and its end listeners run. */
  end(id: string, reason: SessionEndReason): void {
    this.sessions.delete(id);
    const watch = this.watches.get(id);
    if (!watch) return;
    this.watches.delete(id);
    clearTimeout(watch.timer);
    for (const listener of [...watch.listeners]) {
      try {
        listener(reason);
      } catch (error) {
        this.options.onListenerError?.(error);
      }
    }
  }

  /** The live sessions of `user`, oldest first. */
  ofUser(user: string): PanelSession[] {
    this.sweep();
    return [...this.sessions.values()].filter((session) => session.user === user);
  }

  /** Ends every session of `user` except the one whose handle is `keep`; returns how many ended. */
  revoke(user: string, keep?: string): number {
    let revoked = 0;
    for (const session of this.ofUser(user)) {
      if (session.handle === keep) continue;
      this.end(session.id, 'revoked');
      revoked++;
    }
    return revoked;
  }

  /**
   * Calls `listener` once when the session ends, or soon (on a microtask) when it already has.
   * Returns the function that removes it; the expiry timer goes with the last listener.
   */
  onEnd(id: string, listener: SessionEndListener): () => void {
    const session = this.sessions.get(id);
    if (!session || session.expiresAt <= this.now()) {
      queueMicrotask(() => listener('expired'));
      return () => undefined;
    }
    let watch = this.watches.get(id);
    if (!watch) {
      watch = { listeners: new Set() };
      this.watches.set(id, watch);
      this.armExpiry(session, watch);
    }
    const own = watch;
    // Wrapped so the same function may be registered twice and removed once each.
    const entry: SessionEndListener = (reason) => listener(reason);
    own.listeners.add(entry);
    return () => {
      if (!own.listeners.delete(entry) || own.listeners.size > 0) return;
      clearTimeout(own.timer);
      if (this.watches.get(id) === own) this.watches.delete(id);
    };
  }

  private armExpiry(session: PanelSession, watch: EndWatch): void {
    const delay = Math.min(Math.max(session.expiresAt - this.now(), 0), MAX_TIMER_DELAY);
    watch.timer = setTimeout(() => {
      if (session.expiresAt <= this.now()) this.end(session.id, 'expired');
      else this.armExpiry(session, watch);
    }, delay);
    // An open stream keeps the process alive on its own; its expiry timer need not.
    watch.timer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The id a cookie value carries when its signature is right. */
  private verifiedId(value: string | undefined): string | undefined {
    if (!value) return undefined;
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.sign(id));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return id;
  }

  private sign(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('base64url');
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions)
      if (session.expiresAt <= now) this.end(id, 'expired');
  }
}
