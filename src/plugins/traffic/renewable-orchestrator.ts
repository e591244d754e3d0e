import type { Orchestrator, ReleaseSpec, SlotRef, SlotRuntime } from './orchestrators/types.js';

type ExitListener = (ref: SlotRef, message: string) => void;

/**
 * The orchestrator as the rest of the plugin sees it, one instance at a time underneath. A
 * gateway that stops driving the orchestrator (another gateway took the lock) closes its
 * instance, so its local releases stop and free their ports for the new driver, and opens a
 * fresh one for the next time it drives: an instance is never used again after `close()`.
 */
export class RenewableOrchestrator implements Orchestrator {
  private readonly listeners: ExitListener[] = [];

  constructor(
    private current: Orchestrator,
    private readonly create: () => Promise<Orchestrator>,
  ) {}

  get type(): string {
    return this.current.type;
  }

  start(release: ReleaseSpec, signal?: AbortSignal): Promise<{ target: string }> {
    return this.current.start(release, signal);
  }

  stop(ref: SlotRef): Promise<void> {
    return this.current.stop(ref);
  }

  status(ref: SlotRef): Promise<SlotRuntime> {
    return this.current.status(ref);
  }

  logs(ref: SlotRef, limit: number): Promise<string[]> {
    return this.current.logs(ref, limit);
  }

  async activate(ref: SlotRef): Promise<void> {
    await this.current.activate?.(ref);
  }

  onExit(listener: ExitListener): void {
    this.listeners.push(listener);
    this.listen(this.current, listener);
  }

  /** Closes the instance in use (local releases stop) and opens the next one. */
  async renew(): Promise<void> {
    const closing = this.current;
    await closing.close();
    this.current = await this.create();
    for (const listener of this.listeners) this.listen(this.current, listener);
  }

  close(): Promise<void> {
    return this.current.close();
  }

  /** Exits reported by an instance no longer in use are about releases nobody drives. */
  private listen(instance: Orchestrator, listener: ExitListener): void {
    instance.onExit((ref, message) => {
      if (instance === this.current) listener(ref, message);
    });
  }
}
