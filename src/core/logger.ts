import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { BatchedLineStream, RotatingFileStream, type LogFileOptions } from './log-file.js';

export type { Logger } from 'pino';
export { BatchedLineStream, RotatingFileStream } from './log-file.js';
export type { BatchOptions, LogFileOptions } from './log-file.js';

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
 * logger and the usual field names one or two levels deep. Credentials in URLs (query
 * parameters) are redacted where the URL is logged, by `redactUrl`: a path cannot reach inside a string.
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
 * Creates the app's pino logger. Destinations are asynchronous (stdout and the file batch lines
 * in memory and write them off the request path); `flushLogger` drains them on shutdown.
 * @example const logger = createLogger({ level: 'debug', file: { path: './logs/app.log' } })
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const streams: pino.StreamEntry[] = [];
  const level = options.level ?? (process.env.LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  if (options.stdout !== false && !options.destination)
    streams.push({ level: 'trace', stream: new BatchedLineStream(1, 'stdout') });
  if (options.destination) streams.push({ level: 'trace', stream: options.destination });
  const file = options.file ? new RotatingFileStream(options.file) : undefined;
  if (file) streams.push({ level: 'trace', stream: file });
  const destination: DestinationStream =
    streams.length === 1 ? streams[0].stream : flushableMultistream(streams);
  const logger = pino(
    {
      level,
      redact: { paths: [...REDACTED_PATHS, ...(options.redact ?? [])], censor: '[REDACTED]' },
      timestamp: isoTimeOncePerMillisecond(),
      base: { pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  if (file) ownedFiles.set(logger, file);
  // Lines in a format known here, to streams of the core's own: `lineWriter` may write them.
  if (!options.destination) knownFormat.add(logger);
  return logger;
}

/** Loggers made by `createLogger` with the core's own destinations (not a caller's stream). */
const knownFormat = new WeakSet<Logger>();

/** Writes one line (`,"key":value...` after the bindings) at a level, as the logger would. */
export type LineWriter = (level: 'info' | 'warn', fields: string, message: string) => void;

const LEVEL_VALUES = { info: 30, warn: 40 } as const;

/**
 * A writer of pre-serialised lines for a logger made by `createLogger` (or a child of one), in
 * exactly the bytes pino writes for it: level label, time, the bindings, the fields, `msg`.
 * A line whose shape is fixed (the request line) is built as one string, which costs a sixth of
 * pino's walk over an object's keys. Undefined for any other logger: it goes through pino.
 */
export function lineWriter(logger: Logger): LineWriter | undefined {
  let root: object | null = logger;
  while (root && !knownFormat.has(root as Logger)) root = Object.getPrototypeOf(root) as object;
  if (!root) return undefined;
  const symbols = pino.symbols;
  const record = logger as unknown as Record<symbol, unknown>;
  const chindings = record[symbols.chindingsSym] as string;
  const time = record[symbols.timeSym] as () => string;
  const stream = record[symbols.streamSym] as DestinationStream & { lastLevel?: number };
  const multistream = (stream as unknown as Record<symbol, unknown>)[symbols.needsMetadataGsym];
  return (level, fields, message) => {
    // A multistream picks its destinations by the level pino tells it before each write.
    if (multistream) stream.lastLevel = LEVEL_VALUES[level];
    stream.write(`{"level":"${level}"${time()}${chindings}${fields},"msg":"${message}"}\n`);
  };
}

/**
 * pino's `isoTime`, formatted once per millisecond: a busy server logs many lines in the same
 * millisecond, and formatting the date is a fifth of what a request line costs.
 */
function isoTimeOncePerMillisecond(): () => string {
  let last = -1;
  let stamp = '';
  return () => {
    const now = Date.now();
    if (now !== last) {
      last = now;
      stamp = `,"time":"${new Date(now).toISOString()}"`;
    }
    return stamp;
  };
}

/** The file a logger made by `createLogger` writes, so `closeLogger` can release its handle. */
const ownedFiles = new WeakMap<Logger, RotatingFileStream>();

/**
 * Flushes, then closes the log file a `createLogger` logger holds open (a stopped app must not
 * keep a file descriptor). Lines logged afterwards still reach stdout but not the file.
 */
export async function closeLogger(logger: Logger): Promise<void> {
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
