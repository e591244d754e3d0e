import { mkdirSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Where a file destination writes, and when it rotates. */
export interface LogFileOptions {
  /** Path of the active NDJSON file; rotated files are `<path>.1`, `<path>.2`, ... (1 is newest). */
  path: string;
  /** Rotate once the active file grows past this many bytes. Default 10 MiB. */
  maxBytes?: number;
  /** How many rotated files to keep. Default 5. */
  maxFiles?: number;
}

export interface LoggerOptions {
  /** Minimum level. Default `info` (or `LOG_LEVEL`). */
  level?: LevelWithSilent;
  /** Write NDJSON to a rotated file as well as stdout. */
  file?: LogFileOptions;
  /** Write to stdout. Default true. */
  stdout?: boolean;
  /** Any other destination (tests use this to capture lines). */
  destination?: DestinationStream;
  /** Extra paths to redact, in pino's path syntax. */
  redact?: string[];
}

/**
 * Credentials never reach a log line. Paths cover request headers as logged by the request
 * logger and the usual field names one or two levels deep.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.clientSecret',
  '*.authorization',
  '*.*.password',
  '*.*.secret',
  '*.*.token',
];

/**
 * Creates the app's pino logger. Destinations are asynchronous (sonic-boom buffers and writes
 * off the request path); `flushLogger` drains them on shutdown.
 * @example const logger = createLogger({ level: 'debug', file: { path: './logs/app.log' } })
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const streams: pino.StreamEntry[] = [];
  const level = options.level ?? (process.env.LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  if (options.stdout !== false && !options.destination) {
    streams.push({ level: 'trace', stream: pino.destination({ dest: 1, sync: false, minLength: 4096 }) });
  }
  if (options.destination) streams.push({ level: 'trace', stream: options.destination });
  if (options.file) streams.push({ level: 'trace', stream: new RotatingFileStream(options.file) });
  const destination: DestinationStream =
    streams.length === 1 ? streams[0].stream : pino.multistream(streams);
  return pino(
    {
      level,
      redact: { paths: [...REDACTED_PATHS, ...(options.redact ?? [])], censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Flushes buffered log lines (best effort; never throws). */
export async function flushLogger(logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    try {
      logger.flush((error) => {
        void error;
        resolve();
      });
    } catch {
      resolve();
    }
  });
}

/**
 * An NDJSON file that rotates by size. Writes go through sonic-boom asynchronously; rotation
 * renames files with async fs calls and reopens, so the event loop never waits on the disk.
 * Lines written while a rotation is under way land in the file being rotated, never lost.
 */
export class RotatingFileStream implements DestinationStream {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly boom: ReturnType<typeof pino.destination>;
  private bytes = 0;
  private rotating = false;

  constructor(options: LogFileOptions) {
    this.path = path.resolve(options.path);
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = options.maxFiles ?? 5;
    mkdirSync(path.dirname(this.path), { recursive: true });
    this.boom = pino.destination({ dest: this.path, sync: false, mkdir: true, append: true, minLength: 0 });
  }

  write(chunk: string): void {
    this.boom.write(chunk);
    this.bytes += Buffer.byteLength(chunk);
    if (this.bytes >= this.maxBytes && !this.rotating) void this.rotate();
  }

  flush(callback?: (error?: Error) => void): void {
    this.boom.flush(callback);
  }

  end(): void {
    this.boom.end();
  }

  private async rotate(): Promise<void> {
    this.rotating = true;
    try {
      await unlink(`${this.path}.${this.maxFiles}`).catch(() => undefined);
      for (let index = this.maxFiles - 1; index >= 1; index--) {
        await rename(`${this.path}.${index}`, `${this.path}.${index + 1}`).catch(() => undefined);
      }
      await rename(this.path, `${this.path}.1`);
      this.bytes = 0;
      this.boom.reopen();
    } catch {
      // The file vanished under us (deleted by hand); keep writing where sonic-boom points.
    } finally {
      this.rotating = false;
    }
  }
}
