import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SessionEndReason } from '../../core/context.js';
import { errorMessage } from '../../core/errors.js';
import { maskUrlPassword } from '../../core/masking.js';
import type { PanelSession } from './sessions.js';

export interface RedisSessionConfig {
  redis: string;
  prefix: string;
  connectTimeout: number;
}

/**
 * Sessions kept where every gateway reads them: each one a key that expires with it, each
 * user's session ids in a set, and every end announced on a channel, so that a logout or a
 * revocation through one gateway ends the session (and closes its log streams) on all of them.
 */
export interface SharedSessions {
  /** The key that signs cookies: the configured secret, or one the first gateway made. */
  readonly signingKey: string;
  put(session: PanelSession): Promise<void>;
  get(id: string): Promise<PanelSession | undefined>;
  remove(session: PanelSession, reason: SessionEndReason): Promise<void>;
  /** The live sessions of `user`, oldest first. */
  ofUser(user: string): Promise<PanelSession[]>;
  onEnded(listener: (id: string, reason: SessionEndReason) => void): void;
  close(): Promise<void>;
}

/** Longest pause between two reconnection attempts, in milliseconds. */
const MAX_RECONNECT_DELAY = 2_000;

async function importClient() {
  try {
    return (await import('@redis/client')).createClient;
  } catch (error) {
    throw new Error(
      'Control panel sessions in Redis need the package "@redis/client": npm install @redis/client',
      { cause: error },
    );
  }
}

/** Connects (failing start-up with the reason when it cannot within `connectTimeout`). */
export async function openRedisSessions(
  config: RedisSessionConfig,
  configuredSecret: string | undefined,
  logger: Logger,
): Promise<SharedSessions> {
  const createClient = await importClient();
  const where = maskUrlPassword(config.redis);
  const options = {
    url: config.redis,
    socket: {
      connectTimeout: config.connectTimeout,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY),
    },
  };
  const client = createClient(options);
  const subscriber = createClient(options);
  let down = false;
  for (const connection of [client, subscriber]) {
    // Without a listener a connection error would crash the process; log once per outage.
    connection.on('error', (error: unknown) => {
      if (!down) logger.warn({ err: error, redis: where }, 'panel sessions: Redis connection lost');
      down = true;
    });
    connection.on('ready', () => {
      if (down) logger.info({ redis: where }, 'panel sessions: Redis connection restored');
      down = false;
    });
  }
  try {
    await withTimeout(Promise.all([client.connect(), subscriber.connect()]), config.connectTimeout);
  } catch (error) {
    await Promise.allSettled([client.disconnect(), subscriber.disconnect()]);
    throw new Error(
      `Control panel sessions: cannot reach Redis at ${where}: ${errorMessage(error)}. Check REDIS_URL or the sessionStore option.`,
      { cause: error },
    );
  }
  const { prefix } = config;
  const sessionKey = (id: string) => `${prefix}session:${id}`;
  const userKey = (user: string) => `${prefix}user:${user}`;
  const channel = `${prefix}ended`;

  // Without a configured secret the first gateway makes one; the others take it.
  let signingKey = configuredSecret;
  if (signingKey === undefined) {
    await client.set(`${prefix}signing-key`, randomBytes(32).toString('base64url'), { NX: true });
    signingKey = (await client.get(`${prefix}signing-key`))!;
  }

  const listeners: ((id: string, reason: SessionEndReason) => void)[] = [];
  await subscriber.subscribe(channel, (message: string) => {
    try {
      const { id, reason } = JSON.parse(message) as { id: string; reason: SessionEndReason };
      for (const listener of listeners) listener(id, reason);
    } catch (error) {
      logger.warn({ error: errorMessage(error) }, 'panel sessions: unreadable end message');
    }
  });

  const parse = (text: string | null): PanelSession | undefined =>
    text === null ? undefined : (JSON.parse(text) as PanelSession);

  return {
    signingKey,
    async put(session) {
      const ttl = Math.max(session.expiresAt - Date.now(), 1);
      await client
        .multi()
        .set(sessionKey(session.id), JSON.stringify(session), { PX: ttl })
        .sAdd(userKey(session.user), session.id)
        // The set lives as long as its newest session.
        .pExpire(userKey(session.user), ttl, 'GT')
        .pExpire(userKey(session.user), ttl, 'NX')
        .exec();
    },
    async get(id) {
      return parse(await client.get(sessionKey(id)));
    },
    async remove(session, reason) {
      await client
        .multi()
        .del(sessionKey(session.id))
        .sRem(userKey(session.user), session.id)
        .publish(channel, JSON.stringify({ id: session.id, reason }))
        .exec();
    },
    async ofUser(user) {
      const ids = await client.sMembers(userKey(user));
      if (ids.length === 0) return [];
      const found = await client.mGet(ids.map(sessionKey));
      const gone = ids.filter((_id, index) => found[index] === null);
      if (gone.length > 0) await client.sRem(userKey(user), gone);
      const now = Date.now();
      return found
        .map(parse)
        .filter((session): session is PanelSession => !!session && session.expiresAt > now)
        .sort((a, b) => a.createdAt - b.createdAt);
    },
    onEnded(listener) {
      listeners.push(listener);
    },
    async close() {
      await Promise.allSettled([subscriber.quit(), client.quit()]);
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, timeout: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${timeout} ms`)), timeout);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
