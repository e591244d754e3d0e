import type { CacheLatency } from './types.js';

/**
 * The most recent `size` durations in a fixed ring, so recording stays O(1) and memory bounded
 * however long the process runs; percentiles sort a copy only when asked.
 */
export class LatencyRing {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(size: number) {
    this.samples = new Float64Array(size);
  }

  record(milliseconds: number): void {
    this.samples[this.next] = milliseconds;
    this.next = this.next + 1 === this.samples.length ? 0 : this.next + 1;
    if (this.filled < this.samples.length) this.filled++;
  }

  percentiles(): CacheLatency {
    if (this.filled === 0) return { samples: 0, p50: 0, p90: 0, p99: 0 };
    const sorted = this.samples.slice(0, this.filled).sort();
    // Nearest-rank percentile, rounded to microseconds for display.
    const at = (p: number) =>
      Math.round(
        sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 1000,
      ) / 1000;
    return { samples: this.filled, p50: at(50), p90: at(90), p99: at(99) };
  }
}

/** Plain counters; read by `stats()`, written on every call. */
export class CacheCounters {
  hits = 0;
  misses = 0;
  sets = 0;
  deletes = 0;
  errors = 0;
  coalesced = 0;
  readonly since = new Date().toISOString();

  hitRate(): number {
    const reads = this.hits + this.misses;
    return reads === 0 ? 0 : Math.round((this.hits / reads) * 10_000) / 10_000;
  }
}
