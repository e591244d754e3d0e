import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

export interface ShutdownOptions {
  /** Signals that start a graceful stop; `false` installs none. Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[] | false;
  /** After a signal, how long readiness reports 503 before the server stops accepting. Default 5 000 ms. */
  readinessDelay?: number;
  /** How long in-flight requests may take to finish. Default 10 000 ms. */
  drainTimeout?: number;
  /** Bound on each plugin's onShutdown. Default 5 000 ms. */
  hookTimeout?: number;
  /** Called with the exit code after a signal-driven stop. Default `process.exit`. */
  exit?: (code: number) => void;
}

/** Runs hooks one after another, each bounded; a slow or failing hook never blocks the rest. */
export async function runShutdown(
  hooks: { name: string; run: () => Promise<void> }[],
  timeout: number,
  logger: Logger,
): Promise<void> {
  for (const hook of hooks) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        hook.run(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`onShutdown took longer than ${timeout} ms`)),
            timeout,
          );
        }),
      ]);
    } catch (error) {
      logger.error({ plugin: hook.name, error: errorMessage(error) }, 'plugin shutdown failed');
    } finally {
      clearTimeout(timer);
    }
  }
}

/** First signal: graceful stop, then exit 0. A second signal while stopping forces exit 1. */
export function installSignalHandlers(
  signals: NodeJS.Signals[],
  options: {
    logger: Logger;
    stop: (reason: string) => Promise<void>;
    exit: (code: number) => void;
  },
): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      options.logger.warn({ signal }, 'second signal: forcing exit');
      options.exit(1);
      return;
    }
    received = true;
    options.logger.info({ signal }, 'signal received: shutting down gracefully');
    options.stop(`signal ${signal}`).then(
      () => options.exit(0),
      (error) => {
        options.logger.error({ err: error }, 'graceful shutdown failed');
        options.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
