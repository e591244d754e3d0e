import { z } from 'zod';

/** Milliseconds of each sampling window: CPU percentage, event-loop delay and utilisation cover the last one. */
export const DEFAULT_SAMPLE_INTERVAL = 5_000;
/** Milliseconds between event-loop delay samples (the histogram's timer). */
export const DEFAULT_EVENT_LOOP_RESOLUTION = 20;
/** Bounds keep a typo (seconds given as milliseconds, say) from producing a useless window. */
const MIN_SAMPLE_INTERVAL = 50;
const MAX_SAMPLE_INTERVAL = 3_600_000;

export const diagnosticsOptionsSchema = z.strictObject({
  /** Where the report is served. */
  path: z
    .string()
    .regex(/^\/[^?#\s]*$/, 'a path starting with "/"')
    .default('/api/diagnostics'),
  sampleInterval: z
    .number()
    .int()
    .min(MIN_SAMPLE_INTERVAL, `at least ${MIN_SAMPLE_INTERVAL} ms`)
    .max(MAX_SAMPLE_INTERVAL, `at most ${MAX_SAMPLE_INTERVAL} ms (one hour)`)
    .default(DEFAULT_SAMPLE_INTERVAL),
  eventLoopResolution: z
    .number()
    .int()
    .min(1, 'at least 1 ms')
    .max(1_000, 'at most 1000 ms')
    .default(DEFAULT_EVENT_LOOP_RESOLUTION),
});

export type DiagnosticsOptions = z.input<typeof diagnosticsOptionsSchema>;
export type DiagnosticsConfig = z.output<typeof diagnosticsOptionsSchema>;
