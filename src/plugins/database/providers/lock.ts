import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../../../core/errors.js';
import type { DatabaseConfig } from '../options.js';
import type { LockHandlers } from '../types.js';

/** A 64-bit advisory lock key derived from a name, as PostgreSQL's bigint text. */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/**
 * Competes for a session advisory lock on a node-postgres connection of its own: a pooled one
 * would be handed to other queries, and the lock lives exactly as long as the session. While it
 * does not hold the lock it tries again every `retryInterval` ms (reconnecting as needed); while
 * it holds it, it runs a trivial query as often, so a connection lost without a word (a silent
 * network cut) is noticed within about two intervals rather than when the kernel gives up.
 */
export async function holdPostgresLock(
  ClientClass: typeof Client,
  config: DatabaseConfig,
  logger: Logger,
  name: string,
  handlers: LockHandlers,
  retryInterval: number,
): Promise<() => Promise<void>> {
  const key = advisoryKey(`lock:${name}`);
  let client: Client | undefined;
  let holding = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> = Promise.resolve();

  const drop = (lost: Client, error?: unknown) => {
    if (lost !== client) return;
    client = undefined;
    lost.end().catch(() => undefined);
    if (!holding) return;
    holding = false;
    logger.warn(
      { lock: name, error: error === undefined ? undefined : errorMessage(error) },
      'lock connection lost: the lock is released',
    );
    if (!stopped) handlers.onLost();
  };
  const connect = async (): Promise<Client> => {
    const fresh = new ClientClass({
      connectionString: config.url!,
      connectionTimeoutMillis: config.connectTimeout,
      // The heartbeat must fail within the interval, not wait for the kernel's TCP timeout.
      query_timeout: Math.max(retryInterval, 1_000),
      keepAlive: true,
    });
    fresh.on('error', (error) => drop(fresh, error));
    fresh.on('end', () => drop(fresh));
    try {
      await fresh.connect();
    } catch (error) {
      await fresh.end().catch(() => undefined);
      throw error;
    }
    client = fresh;
    return fresh;
  };
  const tryOnce = async () => {
    const current = client ?? (await connect());
    try {
      if (holding) {
        await current.query('SELECT 1');
        return;
      }
      const { rows } = await current.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock($1::bigint) AS ok',
        [key],
      );
      if (!rows[0].ok || stopped) return;
      holding = true;
      logger.info({ lock: name }, 'lock acquired');
      handlers.onAcquired();
    } catch (error) {
      drop(current, error);
      throw error;
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      attempt = tryOnce()
        .catch((error: unknown) =>
          logger.debug({ lock: name, error: errorMessage(error) }, 'lock attempt failed'),
        )
        .finally(schedule);
    }, retryInterval);
    timer.unref();
  };

  // The first attempt's failure (the server is away) is the caller's to see.
  await tryOnce();
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await attempt;
    const current = client;
    client = undefined;
    holding = false;
    // Ending the session releases the lock: no unlock round trip that could itself hang.
    await current?.end().catch(() => undefined);
  };
}
