/** Names one slot of one service. */
export interface SlotRef {
  service: string;
  slot: string;
}

export interface ReleaseSpec extends SlotRef {
  version: string;
  /**
   * The folder holding the uploaded release's files (`qwickapps release`), when one was uploaded:
   * the process orchestrator runs the release there.
   */
  directory?: string;
}

/** What the orchestrator knows about a slot's release right now. */
export interface SlotRuntime {
  state: 'running' | 'starting' | 'stopped' | 'exited' | 'unknown';
  detail?: string;
  pid?: number;
}

/**
 * Runs releases in slots. `process` is the embedded default; `kubernetes`, `caprover` and
 * `docker` drive external platforms through their HTTP APIs.
 */
export interface Orchestrator {
  readonly type: string;
  /**
   * Starts `version` in the slot (replacing what ran there) and returns where it answers.
   * `signal` aborts when the gateway no longer wants this start (the slot was stopped or
   * redeployed): an orchestrator still waiting on its platform may give up then.
   */
  start(release: ReleaseSpec, signal?: AbortSignal): Promise<{ target: string }>;
  /** Stops the slot's release; resolves once it is down. Stopping a stopped slot is a no-op. */
  stop(ref: SlotRef): Promise<void>;
  status(ref: SlotRef): Promise<SlotRuntime>;
  /** The most recent output lines, oldest first. */
  logs(ref: SlotRef, limit: number): Promise<string[]>;
  /** Called after the gateway routes to the slot (Kubernetes also switches its stable Service). */
  activate?(ref: SlotRef): Promise<void>;
  /** Reports releases that stopped on their own. */
  onExit(listener: (ref: SlotRef, message: string) => void): void;
  /** The gateway is stopping: local releases stop with it, remote ones keep running. */
  close(): Promise<void>;
}

/** How each service's slots are laid out, for orchestrators that need per-service settings. */
export interface ServiceLayout {
  name: string;
  slots: string[];
  release?: { command: string; args: string[]; cwd?: string; env: Record<string, string> };
  ports?: number[] | { from: number; step: number };
  image?: string;
}
