import type { RequestHandler } from 'express';
import { onSessionEnd } from '../../core/admin-gate.js';
import type { SessionEndReason } from '../../core/context.js';
import { HttpError } from '../../core/errors.js';
import { entryMatches, rawMayMatch, type ParsedLine } from './filter.js';
import { parseStreamFilter } from './params.js';
import type { LogTail } from './tail.js';

export interface StreamSettings {
  /** Milliseconds between `: ping` comments, which keep proxies from closing an idle stream. */
  pingInterval: number;
  /** Concurrent streams; more get 503. */
  maxStreamClients: number;
  /** Bytes a slow client may leave unsent before its stream is closed (it may reconnect). */
  maxBufferedBytes: number;
  /** Milliseconds a disconnected EventSource waits before reconnecting. */
  retryInterval: number;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  // Every guarded answer is no-store; no-transform keeps proxies from buffering to compress.
  'cache-control': 'no-store, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/**
 * The live streams of one app: one `data:` event per new log line matching each client's filter.
 * A stream lives no longer than the session it was opened with: when that ends (logout, expiry,
 * revocation) the stream gets `event: session-ended` and closes.
 */
export class LogStreams {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly tail: () => LogTail | undefined,
    private readonly settings: StreamSettings,
  ) {}

  count(): number {
    return this.open.size;
  }

  /** Ends every stream (app shutdown), so draining the server does not wait on them. */
  closeAll(): void {
    for (const close of [...this.open]) close();
  }

  handler(): RequestHandler {
    return async (req, res) => {
      const filter = parseStreamFilter(req.query as Record<string, unknown>);
      const tail = this.tail();
      if (!tail) throw notConfigured();
      if (this.open.size >= this.settings.maxStreamClients) {
        throw new HttpError(
          503,
          'LOGS_TOO_MANY_STREAMS',
          `At most ${this.settings.maxStreamClients} log streams may be open at once; try again later.`,
        );
      }

      // Filled in once subscribed; `close` may run before that (client gone while positioning).
      const held: {
        unsubscribe?: () => void;
        ping?: NodeJS.Timeout;
        stopWatchingSession?: () => void;
      } = {};
      let closed = false;
      let sessionEnded: SessionEndReason | undefined;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(held.ping);
        held.unsubscribe?.();
        held.stopWatchingSession?.();
        this.open.delete(close);
        // Before the headers, the error handler answers (or the client is gone); ending here would send an empty 200.
        if (res.headersSent && !res.writableEnded) res.end();
      };
      const send = (line: ParsedLine) => {
        if (closed || !rawMayMatch(line.raw, filter) || !entryMatches(line, filter)) return;
        if (res.writableLength > this.settings.maxBufferedBytes) {
          res.write(
            'event: overflow\ndata: {"reason":"the client reads slower than lines are written"}\n\n',
          );
          close();
          return;
        }
        res.write(`data: ${line.raw}\n\n`);
      };
      this.open.add(close);
      res.once('close', close);
      held.stopWatchingSession = onSessionEnd(req, (reason) => {
        sessionEnded = reason;
        // Said before closing, so a client knows not to reconnect with the same credentials.
        if (res.headersSent && !res.writableEnded)
          res.write(`event: session-ended\ndata: ${JSON.stringify({ reason })}\n\n`);
        close();
      });

      // Positioned at the end of the file before the client sees the headers, so every line
      // logged after that moment is delivered.
      const stop = await tail.subscribe(send).catch((error: unknown) => {
        close();
        throw error;
      });
      if (closed) {
        stop();
        if (res.destroyed) return;
        // Closed while positioning: answer rather than leave the request open.
        if (sessionEnded)
          throw new HttpError(
            401,
            'LOGS_SESSION_ENDED',
            `The session this stream was opened with ended (${sessionEnded}); log in again.`,
          );
        throw new HttpError(
          503,
          'LOGS_STREAM_CLOSED',
          'The log stream closed while opening (the app is stopping); reconnect.',
        );
      }
      held.unsubscribe = stop;
      res.writeHead(200, SSE_HEADERS);
      res.write(`retry: ${this.settings.retryInterval}\n\n`);
      held.ping = setInterval(() => res.write(': ping\n\n'), this.settings.pingInterval);
      held.ping.unref();
    };
  }
}

export function notConfigured(): HttpError {
  return new HttpError(
    404,
    'LOGS_FILE_NOT_CONFIGURED',
    'The app writes no log file. Start it with logger: { file: { path } } or give the logs plugin a file.',
  );
}
