import { mkdirSync, statSync } from 'node:fs';
import { readdir, rename, unlink } from 'node:fs/promises';
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
  /** Milliseconds `flush` waits for pending writes before giving up. Default 5 000. */
  flushTimeout?: number;
  /** Buffered lines reach the file at least this often, in ms. Default 100. */
  flushInterval?: number;
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
  const timers: NodeJS.Timeout[] = [];
  if (options.stdout !== false && !options.destination) {
    const stdout = pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES });
    timers.push(flushEvery(stdout, FLUSH_INTERVAL));
    streams.push({ level: 'trace', stream: stdout });
  }
  if (options.destination) streams.push({ level: 'trace', stream: options.destination });
  const file = options.file ? new RotatingFileStream(options.file) : undefined;
  if (file) streams.push({ level: 'trace', stream: file });
  const destination: DestinationStream = streams.length === 1 ? streams[0].stream : flushableMultistream(streams);
  const logger = pino(
    {
      level,
      redact: { paths: [...REDACTED_PATHS, ...(options.redact ?? [])], censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  if (file) ownedFiles.set(logger, file);
  if (timers.length > 0) ownedTimers.set(logger, timers);
  return logger;
}

/**
 * Lines are buffered up to BUFFER_BYTES so a busy server makes one write per batch rather than
 * one per line; a timer writes what is buffered at least every FLUSH_INTERVAL ms, so a quiet
 * server's lines (and a live tail) are never held back longer than that.
 */
const BUFFER_BYTES = 4096;
const FLUSH_INTERVAL = 100;

function flushEvery(stream: { flush(callback?: (error?: Error) => void): void }, interval: number): NodeJS.Timeout {
  // One flush at a time: while a write is under way sonic-boom queues the flush on 'drain', and
  // a flush per tick would pile up listeners.
  let pending = false;
  const timer = setInterval(() => {
    if (pending) return;
    pending = true;
    try {
      stream.flush(() => (pending = false));
    } catch {
      pending = false; // Already ended: nothing left to write.
    }
  }, interval);
  timer.unref();
  return timer;
}

const ownedTimers = new WeakMap<Logger, NodeJS.Timeout[]>();

/** The file a logger made by `createLogger` writes, so `closeLogger` can release its handle. */
const ownedFiles = new WeakMap<Logger, RotatingFileStream>();

/**
 * Flushes, then closes the log file a `createLogger` logger holds open (a stopped app must not
 * keep a file descriptor). Lines logged afterwards still reach stdout but not the file.
 */
export async function closeLogger(logger: Logger): Promise<void> {
  for (const timer of ownedTimers.get(logger) ?? []) clearInterval(timer);
  await flushLogger(logger);
  await ownedFiles.get(logger)?.close();
}

type Flushable = { flush?: (callback: (error?: Error) => void) => void };

/**
 * pino's multistream has no `flush`, so `logger.flush(cb)` would call back at once with lines
 * still pending; this one waits for every destination that can flush.
 */
function flushableMultistream(streams: pino.StreamEntry[]): DestinationStream {
  const multistream = pino.multistream(streams);
  const flush = (callback: (error?: Error) => void) => {
    const pending = streams.map(
      (entry) =>
        new Promise<void>((resolve) => {
          const stream = entry.stream as Flushable;
          if (typeof stream.flush !== 'function') return resolve();
          try {
            stream.flush(() => resolve());
          } catch {
            resolve();
          }
        }),
    );
    void Promise.all(pending).then(() => callback());
  };
  return Object.assign(multistream, { flush });
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
  private readonly flushTimeout: number;
  private bytes = 0;
  private rotating = false;
  /** Bytes handed to sonic-boom and bytes it reports written: equal when nothing is pending. */
  private submitted = 0;
  private written = 0;
  private readonly waiting = new Set<() => void>();
  private reportedError = false;
  private closing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private flushing = false;

  constructor(options: LogFileOptions) {
    this.path = path.resolve(options.path);
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = options.maxFiles ?? 5;
    this.flushTimeout = options.flushTimeout ?? 5_000;
    mkdirSync(path.dirname(this.path), { recursive: true });
    // Appending to a file from an earlier run: it counts towards the size limit.
    this.bytes = sizeOf(this.path);
    this.boom = pino.destination({ dest: this.path, sync: false, mkdir: true, append: true, minLength: BUFFER_BYTES });
    this.timer = flushEvery(this.boom, options.flushInterval ?? FLUSH_INTERVAL);
    this.boom.on('write', (count: number) => {
      this.written += count;
      if (this.written >= this.submitted) this.release();
    });
    // Without a listener a failed write (disk full, directory removed) would crash the process.
    this.boom.on('error', (error: Error) => {
      this.release();
      if (this.reportedError) return;
      this.reportedError = true;
      process.stderr.write(`log file ${this.path}: ${error.message}\n`);
    });
  }

  write(chunk: string): void {
    // sonic-boom throws once ended; a line logged after the app stopped must not crash its caller.
    if (this.closing) return;
    const size = Buffer.byteLength(chunk);
    this.submitted += size;
    this.boom.write(chunk);
    this.bytes += size;
    if (this.bytes >= this.maxBytes && !this.rotating) void this.rotate();
  }

  /**
   * Calls back once every line written so far is on disk (or after `flushTimeout`): sonic-boom's
   * own flush callback does not wait for the write it starts.
   */
  flush(callback?: (error?: Error) => void): void {
    const done = () => callback?.();
    if (this.written >= this.submitted) return done();
    if (!this.closing && !this.flushing) {
      this.flushing = true;
      try {
        this.boom.flush(() => (this.flushing = false));
      } catch {
        this.flushing = false; // A write is under way; its 'write' event releases us.
      }
    }
    const timer = setTimeout(() => {
      this.waiting.delete(finish);
      done();
    }, this.flushTimeout);
    const finish = () => {
      clearTimeout(timer);
      done();
    };
    this.waiting.add(finish);
  }

  private release(): void {
    const callbacks = [...this.waiting];
    this.waiting.clear();
    for (const callback of callbacks) callback();
  }

  end(): void {
    void this.close();
  }

  /** Writes what is pending and closes the file; resolves once the descriptor is released. */
  close(): Promise<void> {
    clearInterval(this.timer);
    this.closing ??= new Promise<void>((resolve) => {
      this.boom.once('close', () => resolve());
      // An error while closing is reported by the 'error' listener; the handle is gone either way.
      this.boom.once('error', () => resolve());
      this.boom.end();
    });
    return this.closing;
  }

  private async rotate(): Promise<void> {
    this.rotating = true;
    try {
      // Only the rotated files that exist are moved, oldest first, so a rotation takes a few
      // renames rather than maxFiles of them (lines written meanwhile land in the old file).
      const base = path.basename(this.path);
      const existing = (await readdir(path.dirname(this.path)))
        .map((name) => (name.startsWith(`${base}.`) ? name.slice(base.length + 1) : ''))
        .filter((suffix) => /^\d+$/.test(suffix))
        .map(Number)
        .sort((a, b) => b - a);
      for (const index of existing) {
        if (index >= this.maxFiles) await unlink(`${this.path}.${index}`).catch(() => undefined);
        else await rename(`${this.path}.${index}`, `${this.path}.${index + 1}`).catch(() => undefined);
      }
      await rename(this.path, `${this.path}.1`);
      this.bytes = 0;
      // Closed meanwhile: reopening would open a file nobody closes.
      if (!this.closing) this.boom.reopen();
    } catch {
      // The file vanished under us (deleted by hand); keep writing where sonic-boom points.
    } finally {
      this.rotating = false;
    }
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
