import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.js';

/** Records one statement: its SQL, parameters, duration and failure if any. */
export type QueryLog = (
  sql: string,
  params: readonly unknown[] | undefined,
  durationMs: number,
  error?: unknown,
) => void;

/**
 * A debug logger for statements. Parameter values are replaced by their count unless
 * `logParameters` is set, because they routinely carry personal data and credentials.
 */
export function createQueryLog(logger: Logger, logParameters: boolean): QueryLog {
  return (sql, params, durationMs, error) => {
    const count = params?.length ?? 0;
    const fields = {
      sql,
      durationMs: Math.round(durationMs * 1000) / 1000,
      params: logParameters ? params : count > 0 ? `[${count} redacted]` : undefined,
      error: error === undefined ? undefined : errorMessage(error),
    };
    logger.debug(fields, error === undefined ? 'query' : 'query failed');
  };
}

/** Runs `run` (sync or async) and logs it with its duration. */
export function timed<T>(
  log: QueryLog,
  sql: string,
  params: readonly unknown[] | undefined,
  run: () => T,
): T {
  const started = performance.now();
  let result: T;
  try {
    result = run();
  } catch (error) {
    log(sql, params, performance.now() - started, error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        log(sql, params, performance.now() - started);
        return value;
      },
      (error: unknown) => {
        log(sql, params, performance.now() - started, error);
        throw error;
      },
    ) as T;
  }
  log(sql, params, performance.now() - started);
  return result;
}

/** The SQL text of a driver's query argument (a string or a `{ text }` / `{ sql }` config). */
export function sqlOf(query: unknown): string {
  if (typeof query === 'string') return query;
  const config = query as { text?: string; sql?: string } | undefined;
  return config?.text ?? config?.sql ?? '';
}
