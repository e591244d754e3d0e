import { z } from 'zod';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Options of the logs plugin; every limit has a default that keeps memory and time bounded. */
export const logsOptionsSchema = z
  .object({
    /** NDJSON file to read; default the app logger's file (`logger: { file: { path } }`). */
    file: z.string().min(1).optional(),
    /** Entries per page when `limit` is not given. */
    pageSize: z.number().int().min(1).default(100),
    /** Largest `limit` accepted. */
    maxPageSize: z.number().int().min(1).max(100_000).default(1_000),
    /** Bytes per positioned read, backwards for queries and forwards for the stream. */
    chunkSize: z
      .number()
      .int()
      .min(512)
      .max(16 * MIB)
      .default(64 * KIB),
    /** Longer lines are skipped; this bounds the partial line a reader carries. */
    maxLineLength: z
      .number()
      .int()
      .min(256)
      .max(16 * MIB)
      .default(64 * KIB),
    /** Bytes one page may read before answering with what it found and a `nextCursor`. */
    maxScanBytes: z
      .number()
      .int()
      .min(64 * KIB)
      .default(64 * MIB),
    /** Milliseconds between size checks of the followed file (fs.watch usually wakes it sooner). */
    pollInterval: z.number().int().min(10).max(60_000).default(250),
    /** Milliseconds between `: ping` comments on a stream. */
    pingInterval: z.number().int().min(100).max(300_000).default(15_000),
    /** Concurrent streams per app. */
    maxStreamClients: z.number().int().min(1).max(10_000).default(50),
    /** Bytes a slow stream client may leave unsent before its stream is closed. */
    maxBufferedBytes: z
      .number()
      .int()
      .min(16 * KIB)
      .default(1 * MIB),
    /** Milliseconds an EventSource waits before reconnecting. */
    retryInterval: z.number().int().min(100).max(600_000).default(3_000),
  })
  .strict()
  .refine((options) => options.pageSize <= options.maxPageSize, {
    message: 'pageSize must not exceed maxPageSize',
    path: ['pageSize'],
  });

export type LogsOptions = z.input<typeof logsOptionsSchema>;
export type LogsSettings = z.output<typeof logsOptionsSchema>;
