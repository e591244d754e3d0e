import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ServiceState } from './state.js';

/** Where the traffic state lives between gateway runs. */
export interface TrafficStore {
  /** A short description for logs and the status page (`file .data/traffic-state.json`). */
  readonly description: string;
  /**
   * Set when other gateways read the store: then health counts are saved too, at most once in
   * this many milliseconds, not only transitions.
   */
  readonly sharedRefresh?: number;
  /** Every saved service, by name. */
  load(): Promise<Map<string, ServiceState>>;
  save(state: ServiceState): Promise<void>;
  close(): Promise<void>;
}

interface StateFile {
  format: 1;
  savedAt: string;
  services: Record<string, ServiceState>;
}

function isServiceState(value: unknown): value is ServiceState {
  const candidate = value as Partial<ServiceState> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.service === 'string' &&
    Array.isArray(candidate.slots) &&
    Array.isArray(candidate.history)
  );
}

/** Checks the shape of a parsed state document, naming the source when it is not one. */
export function parseStates(source: string, text: string): Map<string, ServiceState> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${source} is not valid JSON (${(error as Error).message}); move it aside to start with empty traffic state.`,
      { cause: error },
    );
  }
  const services = (parsed as Partial<StateFile> | null)?.services;
  if (typeof services !== 'object' || services === null)
    throw new Error(
      `${source} has no "services" object; move it aside to start with empty traffic state.`,
    );
  const states = new Map<string, ServiceState>();
  for (const [name, state] of Object.entries(services)) {
    if (!isServiceState(state)) throw new Error(`${source}: the state of "${name}" is malformed.`);
    states.set(name, state);
  }
  return states;
}

/**
 * One JSON file for every service, replaced atomically: written to a temporary file beside it,
 * flushed to disk, renamed over the old one, and the directory flushed so the rename survives a
 * power cut. Saves are serialised, so the file always holds one complete, recent document.
 */
export class FileStore implements TrafficStore {
  readonly description: string;
  private readonly states = new Map<string, ServiceState>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {
    this.description = `file ${file}`;
  }

  async load(): Promise<Map<string, ServiceState>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    const states = parseStates(this.file, text);
    for (const [name, state] of states) this.states.set(name, state);
    return states;
  }

  save(state: ServiceState): Promise<void> {
    this.states.set(state.service, state);
    const document: StateFile = {
      format: 1,
      savedAt: new Date().toISOString(),
      services: Object.fromEntries(this.states),
    };
    const text = `${JSON.stringify(document, null, 2)}\n`;
    const next = this.writing.then(() => this.write(text));
    // A failed write must not poison the queue; the caller sees its own failure.
    this.writing = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.writing;
  }

  private async write(text: string): Promise<void> {
    const directory = path.dirname(this.file);
    await mkdir(directory, { recursive: true });
    const temporary = path.join(
      directory,
      `.${path.basename(this.file)}.${randomBytes(6).toString('hex')}.tmp`,
    );
    try {
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await syncDirectory(directory);
  }
}

async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
