import { errorMessage } from '../../core/errors.js';

/**
 * Each slot's orchestrator operations, one after another, and a token per start: a start (or a
 * health check) that a later start or stop superseded reports nothing, since what it saw was the
 * release that was replaced. Superseding aborts the old token, so an orchestrator waiting for a
 * rollout gives up at once instead of holding the slot's next operation behind it.
 */
export class SlotQueue {
  private readonly operations = new Map<string, Promise<void>>();
  private readonly launches = new Map<string, AbortController>();

  /** Runs `operation` after the slot's earlier ones; a failure does not stop the next. */
  run(slot: string, operation: () => Promise<void>): Promise<void> {
    const next = (this.operations.get(slot) ?? Promise.resolve()).then(operation);
    this.operations.set(
      slot,
      next.catch(() => undefined),
    );
    return next;
  }

  /** Resolves once every operation queued so far has ended. */
  settled(): Promise<unknown> {
    return Promise.allSettled(this.operations.values());
  }

  /** Aborts the slot's pending start and answers the token of the next one. */
  supersede(slot: string): AbortController {
    this.launches.get(slot)?.abort();
    const launch = new AbortController();
    this.launches.set(slot, launch);
    return launch;
  }

  /** Whether the slot's latest start, as of now, is still its latest when asked. */
  currentOf(slot: string): () => boolean {
    const launch = this.launches.get(slot);
    return () => this.launches.get(slot) === launch;
  }

  /** Ends the wait of every start in flight; what they report afterwards is dropped. */
  abortAll(): void {
    for (const launch of this.launches.values()) launch.abort();
    this.launches.clear();
  }
}

/** GETs a release's health endpoint; resolves with why it failed, or undefined when it passed. */
export async function probeHealth(
  target: string,
  endpoint: string,
  timeout: number,
): Promise<string | undefined> {
  try {
    const response = await fetch(new URL(endpoint, target), {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeout),
    });
    await response.body?.cancel();
    return response.status < 400 ? undefined : `GET ${endpoint} answered ${response.status}`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return `GET ${endpoint} failed: ${cause ?? errorMessage(error)}`;
  }
}
