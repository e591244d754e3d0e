import type { Client } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../../../core/errors.js';
import type { DatabaseConfig } from '../options.js';
import type { NotificationHandlers } from '../types.js';

/** Channel names LISTEN takes here: quoted, so kept to what every provider reads the same. */
const CHANNEL = /^[a-z0-9_]{1,63}$/;

export function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel))
    throw new Error(
      `A notification channel is 1-63 characters of a-z, 0-9 and _ (got ${JSON.stringify(channel)}).`,
    );
}

/**
 * LISTEN on a node-postgres connection of its own: a pooled one would be handed to other
 * queries. A lost connection is opened again with the start-up backoff (`startupRetry`), and
 * `onReconnect` tells the caller that it may have missed notifications.
 */
export async function listenPostgres(
  ClientClass: typeof Client,
  config: DatabaseConfig,
  logger: Logger,
  channel: string,
  handlers: NotificationHandlers,
): Promise<() => Promise<void>> {
  checkChannel(channel);
  let current: Client | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = config.startupRetry.initialDelay;

  const lost = (client: Client, error?: unknown) => {
    if (stopped || client !== current) return;
    current = undefined;
    logger.warn(
      { channel, error: error === undefined ? undefined : errorMessage(error) },
      'notification connection lost, reconnecting',
    );
    client.end().catch(() => undefined);
    reconnectLater();
  };
  const connect = async () => {
    const client = new ClientClass({
      connectionString: config.url!,
      connectionTimeoutMillis: config.connectTimeout,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel === channel) handlers.onNotify(message.payload ?? '');
    });
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    current = client;
  };
  const reconnectLater = () => {
    timer = setTimeout(async () => {
      try {
        await connect();
        delay = config.startupRetry.initialDelay;
        logger.info({ channel }, 'notification connection back');
        handlers.onReconnect?.();
      } catch (error) {
        logger.warn({ channel, error: errorMessage(error) }, 'notification connection refused');
        delay = Math.min(delay * 2, config.startupRetry.maxDelay);
        if (!stopped) reconnectLater();
      }
    }, delay);
    timer.unref();
  };

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const client = current;
    current = undefined;
    await client?.end().catch(() => undefined);
  };
}
