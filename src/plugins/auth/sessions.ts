import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SessionEndReason } from '../../core/context.js';
import type { Cache } from '../cache/types.js';
import type { SessionConfig } from './options.js';
import {
  clearCookie,
  cookieName,
  cookieSpec,
  digest,
  LOGIN_COOKIE,
  randomToken,
  readCookie,
  setCookie,
  type CookieSpec,
} from './session-cookie.js';
import { SessionCookieCodec } from './session-jwt.js';
import { cacheStore, memoryStore, type AuthStore } from './session-store.js';
import type { AuthSession, AuthUser, SessionManager } from './types.js';

/** What a login hands the session beyond the user: provider tokens and the OP's session id. */
export interface SessionTokens {
  idToken?: string;
  refreshToken?: string;
  /** The OP's `sid` claim: back-channel logout names the sessions to end by it. */
  providerSession?: string;
}

/**
 * The auth plugin's SessionManager, with what back-channel logout and the routes need beside
 * the shared contract. `read` takes the response too: a `jwt` session is touched by re-issuing
 * its cookie, which needs somewhere to write it.
 */
export interface Sessions extends SessionManager {
  start(
    req: IncomingMessage,
    res: ServerResponse,
    user: AuthUser,
    tokens?: SessionTokens,
  ): Promise<AuthSession>;
  read(req: IncomingMessage, res?: ServerResponse): Promise<AuthSession | undefined>;
  /** Ends the sessions begun under the OP session `sid` of `issuer`; how many. */
  revokeProviderSession(issuer: string, sid: string): Promise<number>;
  /** Ends every session of the user `subject` at `issuer`; how many. */
  revokeSubject(issuer: string, subject: string): Promise<number>;
  /**
   * Calls `listener` once when the session ends in this process (logout, revocation, eviction,
   * a user revoked) or reaches its absolute timeout, so a long-lived response opened with it (a
   * panel event stream) ends too. Returns the function that removes the listener.
   */
  onEnd(sessionId: string, listener: (reason: SessionEndReason) => void): () => void;
  /** Where sessions and revocations live (shared with the login flow's one-time markers). */
  readonly store: AuthStore;
  readonly cookie: CookieSpec;
}

export interface SessionDeps {
  /** The cache plugin's Cache (`ctx.tryGet('cache')`); a bounded map in this process without it. */
  cache?: Cache;
  logger: Logger;
  /** Whether the public URL is https: the cookie is then Secure and keeps its `__Host-` prefix. */
  secure: boolean;
  /** The clock, epoch ms (tests move it). */
  now?: () => number;
}

/** A session as stored: the shared shape plus when it ends and where it came from. */
interface SessionRecord extends AuthSession {
  expiresAt: number;
  providerSession?: string;
}

interface IndexEntry {
  id: string;
  createdAt: number;
}

const key = {
  session: (id: string) => `s:${id}`,
  user: (userId: string) => `u:${digest(userId)}`,
  notBefore: (userId: string) => `n:${digest(userId)}`,
  revoked: (id: string) => `r:${id}`,
  providerSession: (issuer: string, sid: string) => `p:${digest(`${issuer}\n${sid}`)}`,
  subject: (issuer: string, subject: string) => `b:${digest(`${issuer}\n${subject}`)}`,
};

/**
 * Sessions of signed-in browsers. `type: 'session'`: the session lives in the store and the
 * cookie holds only a 256-bit random token (the store keys it by the token's hash, so neither
 * the store nor the admin list holds a usable cookie). `type: 'jwt'`: the session lives in an
 * encrypted cookie, and the store keeps the per-user "not before" and revoked ids that make
 * logout and revocation immediate. Both: a new id at every login, idle and absolute timeouts,
 * at most `maxPerUser` sessions per user (the oldest ends).
 * @example const sessions = createSessionManager(config.session, { cache: ctx.tryGet('cache'), logger, secure: true })
 */
export function createSessionManager(config: SessionConfig, deps: SessionDeps): Sessions {
  const store = deps.cache ? cacheStore(deps.cache) : memoryStore();
  const now = deps.now ?? Date.now;
  const cookie = cookieSpec(config.cookie, deps.secure, deps.logger);
  const secrets = config.secret === undefined ? [] : [config.secret].flat();
  const codec = config.type === 'jwt' ? new SessionCookieCodec(secrets) : undefined;
  if (!deps.cache && config.type === 'session')
    deps.logger.info(
      'auth sessions are kept in this process: register the cache plugin (Redis) to share them between instances',
    );
  // A touch writes at most this often, so a busy session costs no store write per request.
  const touchEvery = Math.min(60_000, Math.floor(config.idleTimeout / 10));

  const isLive = async (record: {
    id: string;
    user: AuthUser;
    createdAt: number;
    lastSeenAt: number;
  }) => {
    const at = now();
    if (at - record.createdAt >= config.absoluteTimeout) return false;
    if (at - record.lastSeenAt >= config.idleTimeout) return false;
    const [notBefore, revoked] = await Promise.all([
      store.get<number>(key.notBefore(record.user.id)),
      codec ? store.get<boolean>(key.revoked(record.id)) : undefined,
    ]);
    return !revoked && (notBefore === undefined || record.createdAt > notBefore);
  };

  const remaining = (record: { createdAt: number }) =>
    Math.max(1_000, record.createdAt + config.absoluteTimeout - now());

  async function writeCookie(res: ServerResponse, record: AuthSession, token?: string) {
    // The cookie lasts until the absolute timeout; a `jwt` cookie's own `exp` is the idle one.
    const value = codec ? await codec.seal(record, config.idleTimeout) : token!;
    setCookie(res, cookie, value, remaining(record));
  }

  async function readRecord(req: IncomingMessage): Promise<SessionRecord | undefined> {
    const value = readCookie(req, cookie.name);
    if (!value || value.length > 8_192) return undefined;
    if (codec) {
      const opened = await codec.open(value, now());
      if (!opened) return undefined;
      const stored = await store.get<SessionRecord>(key.session(opened.id));
      return { ...stored, ...opened, expiresAt: opened.createdAt + config.absoluteTimeout };
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(value)) return undefined;
    return store.get<SessionRecord>(key.session(digest(value)));
  }

  /** Listeners of sessions that long-lived responses in this process were opened with. */
  const endListeners = new Map<string, Set<(reason: SessionEndReason) => void>>();
  const ended = (id: string, reason: SessionEndReason) => {
    const listeners = endListeners.get(id);
    if (!listeners) return;
    endListeners.delete(id);
    for (const listener of listeners) listener(reason);
  };

  async function revoke(id: string, reason: SessionEndReason = 'revoked'): Promise<boolean> {
    ended(id, reason);
    const record = await store.get<SessionRecord>(key.session(id));
    if (!record) return false;
    await store.delete(key.session(id));
    if (codec) await store.set(key.revoked(id), true, remaining(record));
    const index = (await store.get<IndexEntry[]>(key.user(record.user.id))) ?? [];
    const rest = index.filter((entry) => entry.id !== id);
    if (rest.length === 0) await store.delete(key.user(record.user.id));
    else await store.set(key.user(record.user.id), rest, config.absoluteTimeout);
    return true;
  }

  async function revokeUser(userId: string): Promise<number> {
    // First the "not before": every session of the user is refused from here on, even one an
    // index written concurrently by another instance missed.
    await store.set(key.notBefore(userId), now(), config.absoluteTimeout);
    const index = (await store.get<IndexEntry[]>(key.user(userId))) ?? [];
    let ended = 0;
    for (const entry of index) if (await revoke(entry.id)) ended++;
    await store.delete(key.user(userId));
    return ended;
  }

  async function revokeAll(listKey: string): Promise<number> {
    const ids = (await store.get<string[]>(listKey)) ?? [];
    let ended = 0;
    for (const id of ids) if (await revoke(id)) ended++;
    await store.delete(listKey);
    return ended;
  }

  const publicSession = (record: SessionRecord): AuthSession => ({
    id: record.id,
    user: { ...record.user, sessionId: record.id },
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    ...(record.idToken ? { idToken: record.idToken } : {}),
    ...(record.refreshToken ? { refreshToken: record.refreshToken } : {}),
  });

  return {
    store,
    cookie,
    onEnd(sessionId, listener) {
      let listeners = endListeners.get(sessionId);
      if (!listeners) endListeners.set(sessionId, (listeners = new Set()));
      listeners.add(listener);
      // The absolute timeout ends it whether or not anyone revokes it; read it once, off the path.
      let timer: NodeJS.Timeout | undefined;
      void store.get<SessionRecord>(key.session(sessionId)).then((record) => {
        if (!record || !listeners.has(listener)) return;
        timer = setTimeout(
          () => ended(sessionId, 'expired'),
          Math.max(0, record.expiresAt - now()),
        );
        timer.unref();
      });
      return () => {
        if (timer) clearTimeout(timer);
        listeners.delete(listener);
        if (listeners.size === 0 && endListeners.get(sessionId) === listeners)
          endListeners.delete(sessionId);
      };
    },
    // The login flow's transaction cookie too: neither may reach an upstream.
    cookieNames: [cookie.name, cookieName(LOGIN_COOKIE, deps.secure)],

    async start(req, res, user, tokens = {}) {
      // Whatever session the request came with ends: the new one never reuses its id (fixation).
      const previous = await readRecord(req);
      if (previous) await revoke(previous.id);
      const token = randomToken();
      const id = codec ? randomToken() : digest(token);
      const createdAt = now();
      const record: SessionRecord = {
        id,
        user: { ...user, sessionId: id },
        createdAt,
        lastSeenAt: createdAt,
        expiresAt: createdAt + config.absoluteTimeout,
        idToken: tokens.idToken,
        refreshToken: tokens.refreshToken,
        providerSession: tokens.providerSession,
      };
      await store.set(key.session(id), record, config.absoluteTimeout);
      const index = (await store.get<IndexEntry[]>(key.user(user.id))) ?? [];
      const live = index.filter((entry) => createdAt - entry.createdAt < config.absoluteTimeout);
      live.push({ id, createdAt });
      live.sort((a, b) => a.createdAt - b.createdAt);
      while (live.length > config.maxPerUser) await revoke(live.shift()!.id, 'evicted');
      await store.set(key.user(user.id), live, config.absoluteTimeout);
      if (tokens.providerSession) {
        const listKey = key.providerSession(user.issuer, tokens.providerSession);
        const ids = (await store.get<string[]>(listKey)) ?? [];
        await store.set(listKey, [...ids.slice(-config.maxPerUser), id], config.absoluteTimeout);
      }
      await store.set(key.subject(user.issuer, user.subject), user.id, config.absoluteTimeout);
      await writeCookie(res, record, token);
      return publicSession(record);
    },

    async read(req, res) {
      const record = await readRecord(req);
      if (!record || !(await isLive(record))) return undefined;
      const at = now();
      if (at - record.lastSeenAt >= touchEvery) {
        record.lastSeenAt = at;
        await store.set(key.session(record.id), record, remaining(record));
        if (codec && res && !res.headersSent) await writeCookie(res, record);
      }
      return publicSession(record);
    },

    async end(req, res) {
      const record = await readRecord(req);
      clearCookie(res, cookie);
      if (!record) return undefined;
      const live = await isLive(record);
      await revoke(record.id, 'logout');
      // A `jwt` cookie opens without its stored record (a memory store may have dropped it):
      // mark its id revoked whatever `revoke` found.
      if (codec) await store.set(key.revoked(record.id), true, remaining(record));
      return live ? publicSession(record) : undefined;
    },

    async listFor(userId) {
      const index = (await store.get<IndexEntry[]>(key.user(userId))) ?? [];
      const sessions: AuthSession[] = [];
      for (const entry of index) {
        const record = await store.get<SessionRecord>(key.session(entry.id));
        if (record && (await isLive(record))) sessions.push(publicSession(record));
      }
      return sessions;
    },

    revoke,
    revokeUser,
    revokeProviderSession: (issuer, sid) => revokeAll(key.providerSession(issuer, sid)),
    async revokeSubject(issuer, subject) {
      const userId = await store.get<string>(key.subject(issuer, subject));
      return userId === undefined ? 0 : revokeUser(userId);
    },
  };
}
