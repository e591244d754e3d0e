/**
 * Uploading releases in tests: archives packed as the CLI packs them, PUT whole, streamed
 * without a length, or only announced.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import { packRelease } from '../../src/cli/pack.js';

/** The folder packed as the CLI packs it: the tarball's bytes. */
export async function tarballOf(directory: string): Promise<Buffer> {
  const packed = await packRelease(directory);
  try {
    return await readFile(packed.file);
  } finally {
    await packed.cleanup();
  }
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** PUTs an archive to `url` with its checksum (or the one given). */
export async function putArchive(
  url: string,
  bytes: Buffer,
  options: { checksum?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'PUT',
    headers: {
      'content-type': 'application/gzip',
      'x-release-sha256': options.checksum ?? sha256(bytes),
      ...options.headers,
    },
    body: bytes,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Streams `total` bytes chunk by chunk (no Content-Length), and stops writing once an answer
 * comes: the answer's status and how many bytes had been written by then.
 */
export function streamUpload(
  url: string,
  total: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(16 * 1024, 1);
    const request = http.request(url, {
      method: 'PUT',
      headers: {
        'content-type': 'application/gzip',
        'x-release-sha256': '0'.repeat(64),
        ...headers,
      },
    });
    request.on('response', (response) => {
      answered = true;
      let body = '';
      response.on('data', (data: Buffer) => (body += data.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, sent }));
      response.on('error', reject);
    });
    // The gateway closes the connection after refusing: the rest cannot be written.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const writeMore = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once('drain', writeMore);
      }
      if (!answered) request.end();
    };
    writeMore();
  });
}

/** Sends only the head of an upload announcing `length` bytes, and waits for the answer. */
export function announceUpload(
  url: string,
  length: number,
): Promise<{
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Milliseconds from the answer until the gateway closed the connection. */
  closed: Promise<number>;
}> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'PUT',
      headers: {
        'content-type': 'application/gzip',
        'x-release-sha256': '0'.repeat(64),
        'content-length': String(length),
      },
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (data: Buffer) => (body += data.toString()));
      const answered = performance.now();
      const closed = new Promise<number>((done) =>
        request.socket!.once('close', () => done(performance.now() - answered)),
      );
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, closed }),
      );
    });
    request.on('error', reject);
    request.flushHeaders();
  });
}

/** Every file and folder under `root`, relative to it, including dot-folders. */
export async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String).sort();
}
