import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { App } from '../../src/index.js';

/** The base URL of a started app (port 0 picks a free port). */
export function baseUrl(app: App): string {
  const address = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

/** A log destination that keeps every line in memory, parsed. */
export function captureLogs(): {
  stream: Writable & { write: (chunk: string) => boolean };
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { stream: stream as Writable & { write: (chunk: string) => boolean }, lines };
}

/** Waits until `predicate` holds, polling; fails with `message` after `timeout` ms. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  message: string,
  timeout = 5_000,
): Promise<void> {
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

/**
 * One request over node:http, for headers fetch will not send as given (Host) and bodies sent in
 * parts. `body` chunks are written in order; `end: false` leaves the body unfinished.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer | (string | Buffer)[];
    end?: boolean;
  } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          req.destroy();
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const chunks =
      options.body === undefined ? [] : Array.isArray(options.body) ? options.body : [options.body];
    for (const chunk of chunks) req.write(chunk);
    if (options.end !== false) req.end();
  });
}
