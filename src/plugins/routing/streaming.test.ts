import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../../../test/support/upstream.js';

const TOTAL = 100 * 1024 * 1024;
const CHUNK = 64 * 1024;
const MB = 1024 * 1024;

/** 100 MB produced chunk by chunk (a varying pattern, so a reordered chunk changes the hash). */
function generated(total = TOTAL): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(CHUNK, total - sent);
      this.push(Buffer.alloc(size, sent / CHUNK));
      sent += size;
    },
  });
}

function expectedHash(): string {
  const hash = createHash('sha256');
  for (let sent = 0; sent < TOTAL; sent += CHUNK) hash.update(Buffer.alloc(CHUNK, sent / CHUNK));
  return hash.digest('hex');
}

/** The gateway's peak memory growth (JS heap + Buffers, and RSS) while `work` runs. */
async function peakGrowth<T>(
  work: () => Promise<T>,
): Promise<{ result: T; heap: number; rss: number }> {
  await ask('reset', 'RESET');
  const result = await work();
  const peak = JSON.parse((await ask('peak', 'PEAK ')).slice(5)) as { heap: number; rss: number };
  return { result, ...peak };
}

let child: ChildProcess;
let lines: AsyncIterator<string>;
async function ask(command: string | undefined, prefix: string): Promise<string> {
  if (command) child.stdin!.write(`${command}\n`);
  for (;;) {
    const line = await lines.next();
    if (line.done) throw new Error('the gateway process exited');
    if (line.value.startsWith(prefix)) return line.value;
  }
}

let service: TestUpstream;
let gatewayUrl: string;
beforeAll(async () => {
  service = await startUpstream((req, res) => {
    if (req.url === '/download') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(TOTAL),
      });
      void pipeline(generated(), res).catch(() => undefined);
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => res.end(JSON.stringify({ bytes, hash: hash.digest('hex') })));
  });
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./test-support/gateway-process.ts', import.meta.url)),
    ],
    {
      env: { ...process.env, UPSTREAM_URL: service.url },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  gatewayUrl = (await ask(undefined, 'LISTENING ')).slice('LISTENING '.length);
});
afterAll(async () => {
  child.stdin!.end();
  if (child.exitCode === null) await once(child, 'exit');
  await service.close();
});

describe('streaming through the gateway', () => {
  const hash = expectedHash();

  it.each([
    ['chunked', {}],
    ['Content-Length', { 'content-length': String(TOTAL) }],
  ])('uploads 100 MB (%s) with bounded memory', async (_framing, headers) => {
    const { result, heap, rss } = await peakGrowth(
      () =>
        new Promise<string>((resolve, reject) => {
          const req = http.request(
            `${gatewayUrl}/files/upload`,
            { method: 'POST', agent: false, headers },
            (res) => {
              let text = '';
              res.on('data', (chunk) => (text += chunk));
              res.on('end', () => resolve(text));
            },
          );
          req.on('error', reject);
          generated().pipe(req);
        }),
    );
    expect(JSON.parse(result)).toEqual({ bytes: TOTAL, hash });
    expect(heap).toBeLessThan(64 * MB);
    expect(rss).toBeLessThan(64 * MB);
  });

  it('downloads 100 MB with bounded memory, even from a slow reader', async () => {
    const { result, heap, rss } = await peakGrowth(
      () =>
        new Promise<{ bytes: number; hash: string }>((resolve, reject) => {
          http
            .get(`${gatewayUrl}/files/download`, { agent: false }, (res) => {
              const digest = createHash('sha256');
              let bytes = 0;
              let paused = 0;
              res.on('data', (chunk: Buffer) => {
                bytes += chunk.length;
                digest.update(chunk);
                // Pause now and then, so backpressure has to reach the upstream.
                if (++paused % 200 === 0) {
                  res.pause();
                  setTimeout(() => res.resume(), 20);
                }
              });
              res.on('end', () => resolve({ bytes, hash: digest.digest('hex') }));
              res.on('error', reject);
            })
            .on('error', reject);
        }),
    );
    expect(result).toEqual({ bytes: TOTAL, hash });
    expect(heap).toBeLessThan(64 * MB);
    expect(rss).toBeLessThan(64 * MB);
  });
});
