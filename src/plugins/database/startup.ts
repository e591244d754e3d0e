import type { Logger } from 'pino';
import { HttpError } from '../../core/errors.js';
import type { DatabaseConfig } from './options.js';
import type { Driver } from './driver.js';

/** Failures that mean "not reachable yet": worth retrying while a server or network comes up. */
const RETRYABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'DATABASE_TIMEOUT',
  '57P03', // PostgreSQL: the database system is starting up
]);

function codeOf(error: unknown): string | undefined {
  const value = error as { code?: unknown; errors?: unknown[] } | undefined;
  if (typeof value?.code === 'string') return value.code;
  return value?.errors?.length ? codeOf(value.errors[0]) : undefined;
}

/** Node's multi-address connect failures are AggregateErrors with an empty message. */
export function describeError(error: unknown): string {
  const value = error as { message?: string; errors?: unknown[] } | undefined;
  if (value?.message) return value.message;
  if (value?.errors?.length) return describeError(value.errors[0]);
  return codeOf(error) ?? String(error);
}

export function isRetryable(error: unknown): boolean {
  const code = codeOf(error);
  if (code && RETRYABLE.has(code)) return true;
  return /timeout|terminated|closed the connection|connection lost/i.test(describeError(error));
}

/** Resolves `promise`, or rejects with DATABASE_TIMEOUT after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new HttpError(503, 'DATABASE_TIMEOUT', `${what} did not answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the database to answer, retrying unreachable servers with exponential backoff for
 * `startupTimeout`; errors such as bad credentials fail at once. Both name host and port.
 */
export async function waitForDatabase(
  driver: Driver,
  config: DatabaseConfig,
  logger: Logger,
): Promise<void> {
  const started = Date.now();
  let delay = config.startupRetry.initialDelay;
  for (let attempt = 1; ; attempt++) {
    try {
      await withTimeout(
        driver.ping(),
        config.connectTimeout + 1_000,
        `${driver.provider} at ${driver.target}`,
      );
      if (attempt > 1) logger.info({ target: driver.target, attempt }, 'database reachable');
      return;
    } catch (error) {
      const elapsed = Date.now() - started;
      const reason = describeError(error);
      if (!isRetryable(error)) {
        throw new HttpError(
          503,
          'DATABASE_CONNECT_FAILED',
          `Cannot connect to ${driver.provider} at ${driver.target}: ${reason}`,
          { cause: error },
        );
      }
      const remaining = config.startupTimeout - elapsed;
      if (remaining <= 0) {
        throw new HttpError(
          503,
          'DATABASE_UNREACHABLE',
          `Cannot connect to ${driver.provider} at ${driver.target}: ${reason} (retried ${attempt} times for ${(elapsed / 1000).toFixed(1)} s; check the URL and that the server runs, or raise startupTimeout)`,
          { cause: error },
        );
      }
      const wait = Math.min(delay, remaining);
      logger.warn(
        { target: driver.target, attempt, retryInMs: wait, error: reason },
        'database not reachable yet; retrying',
      );
      await sleep(wait);
      delay = Math.min(delay * 2, config.startupRetry.maxDelay);
    }
  }
}
