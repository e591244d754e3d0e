import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { App } from '../../src/index.js';

/** The base URL of a started app (port 0 picks a free port). */
export function baseUrl(app: App): string {
  const address = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

/** A log destination that keeps every line in memory, parsed. */
export function captureLogs(): { stream: Writable & { write: (chunk: string) => boolean }; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { stream: stream as Writable & { write: (chunk: string) => boolean }, lines };
}

/** Waits until `predicate` holds, polling; fails with `message` after `timeout` ms. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, message: string, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out waiting: ${message}`);
}

/** A response body parsed as JSON, loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function json(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}
