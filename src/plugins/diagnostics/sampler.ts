import os from 'node:os';
import {
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';

/** Event-loop delay over a window, in milliseconds; null before the first sample. */
export interface EventLoopDelay {
  min: number | null;
  mean: number | null;
  stddev: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  samples: number;
}

/** What one sampling window measured. */
export interface WindowSample {
  /** When the window began, and how long it covers (a window still filling is shorter than the interval). */
  startedAt: string;
  windowMs: number;
  /** Process CPU time over the window as a share of one core (can pass 100 with worker threads). */
  cpuPercent: number;
  /** The same share of the whole host (all cores). */
  cpuPercentOfHost: number;
  /** Share of the window the event loop spent busy, 0 to 1. */
  eventLoopUtilization: number;
  eventLoopDelay: EventLoopDelay;
}

interface WindowStart {
  at: number;
  wallClock: number;
  cpu: NodeJS.CpuUsage;
  elu: EventLoopUtilization;
}

const NS_PER_MS = 1e6;
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The histogram records the whole time between two ticks of its timer, resolution included;
 * the delay is what exceeds the resolution (as @fastify/under-pressure reports it too).
 */
function delayOf(histogram: IntervalHistogram, resolutionMs: number): EventLoopDelay {
  if (histogram.count === 0)
    return {
      min: null,
      mean: null,
      stddev: null,
      p50: null,
      p90: null,
      p99: null,
      max: null,
      samples: 0,
    };
  const ms = (ns: number) => round(Math.max(0, ns / NS_PER_MS - resolutionMs));
  return {
    min: ms(histogram.min),
    mean: ms(histogram.mean),
    stddev: round(histogram.stddev / NS_PER_MS),
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
    samples: histogram.count,
  };
}

/**
 * Measures in fixed windows so a report shows the recent past, not an average since start-up
 * that one slow boot would dominate forever. The timer is unref'd and cheap (no I/O); it also
 * refreshes the host's free memory and load, which Node reads from /proc synchronously, so a
 * request for the report never does.
 */
export class DiagnosticsSampler {
  private histogram?: IntervalHistogram;
  private timer?: NodeJS.Timeout;
  private current?: WindowStart;
  private completed?: WindowSample;
  private hostLoad = { loadavg: os.loadavg(), freemem: os.freemem(), sampledAt: Date.now() };
  private readonly cores = os.availableParallelism();

  constructor(private readonly options: { sampleInterval: number; eventLoopResolution: number }) {}

  start(): void {
    if (this.histogram) return;
    this.histogram = monitorEventLoopDelay({ resolution: this.options.eventLoopResolution });
    this.histogram.enable();
    this.current = this.windowStart();
    this.timer = setInterval(() => this.closeWindow(), this.options.sampleInterval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.histogram?.disable();
    this.timer = undefined;
    this.histogram = undefined;
  }

  /** The last full window; before the first one closes, the window filling now. */
  latest(): WindowSample | undefined {
    return (
      this.completed ??
      (this.current && this.histogram ? this.measure(this.current, this.histogram) : undefined)
    );
  }

  host(): { loadavg: number[]; freemem: number; sampledAt: string } {
    return {
      loadavg: this.hostLoad.loadavg.map((value) => round(value, 2)),
      freemem: this.hostLoad.freemem,
      sampledAt: new Date(this.hostLoad.sampledAt).toISOString(),
    };
  }

  private windowStart(): WindowStart {
    return {
      at: performance.now(),
      wallClock: Date.now(),
      cpu: process.cpuUsage(),
      elu: performance.eventLoopUtilization(),
    };
  }

  private closeWindow(): void {
    if (!this.current || !this.histogram) return;
    this.completed = this.measure(this.current, this.histogram);
    this.histogram.reset();
    this.current = this.windowStart();
    this.hostLoad = { loadavg: os.loadavg(), freemem: os.freemem(), sampledAt: Date.now() };
  }

  private measure(start: WindowStart, histogram: IntervalHistogram): WindowSample {
    const elapsedMs = Math.max(performance.now() - start.at, 1e-3);
    const cpu = process.cpuUsage(start.cpu);
    const cpuPercent = ((cpu.user + cpu.system) / 1_000 / elapsedMs) * 100;
    return {
      startedAt: new Date(start.wallClock).toISOString(),
      windowMs: round(elapsedMs, 1),
      cpuPercent: round(cpuPercent, 2),
      cpuPercentOfHost: round(cpuPercent / this.cores, 2),
      eventLoopUtilization: round(performance.eventLoopUtilization(start.elu).utilization, 4),
      eventLoopDelay: delayOf(histogram, this.options.eventLoopResolution),
    };
  }
}
