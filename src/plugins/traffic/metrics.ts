/**
 * Proxied answers per slot in one-second buckets, so the 5xx rate over a sliding window costs a
 * few additions per request and a bounded amount of memory whatever the traffic.
 */
/** When a slot's 5xx answers roll it back: a share of at least `minRequests` over `window` ms. */
export interface ErrorRateRule {
  threshold: number;
  window: number;
  minRequests: number;
}

export class ResponseCounter {
  private readonly slots = new Map<string, Map<number, { total: number; errors: number }>>();

  constructor(private readonly keepSeconds = 600) {}

  record(slot: string, status: number, now: number): void {
    let buckets = this.slots.get(slot);
    if (!buckets) this.slots.set(slot, (buckets = new Map()));
    const second = Math.floor(now / 1000);
    let bucket = buckets.get(second);
    if (!bucket) {
      buckets.set(second, (bucket = { total: 0, errors: 0 }));
      for (const key of buckets.keys()) if (key <= second - this.keepSeconds) buckets.delete(key);
    }
    bucket.total += 1;
    if (status >= 500) bucket.errors += 1;
  }

  /** Answers and 5xx answers within the last `window` milliseconds. */
  rate(slot: string, now: number, window: number): { total: number; errors: number } {
    const from = Math.floor((now - window) / 1000);
    let total = 0;
    let errors = 0;
    for (const [second, bucket] of this.slots.get(slot) ?? []) {
      if (second <= from) continue;
      total += bucket.total;
      errors += bucket.errors;
    }
    return { total, errors };
  }

  /**
   * Why the slot's 5xx share over the rule's window calls for a rollback, or undefined while it
   * stays under the threshold or too few answers were counted to tell.
   */
  breach(slot: string, now: number, rule: ErrorRateRule): string | undefined {
    const { total, errors } = this.rate(slot, now, rule.window);
    if (total < rule.minRequests || errors / total < rule.threshold) return undefined;
    return `5xx rate ${Math.round((errors / total) * 100)}% of ${total} answers over ${rule.window / 1000} s (threshold ${Math.round(rule.threshold * 100)}%)`;
  }

  clear(slot: string): void {
    this.slots.delete(slot);
  }
}
