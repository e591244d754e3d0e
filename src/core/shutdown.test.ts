/**
 * Graceful shutdown, end to end: a real app in a child process (test/fixtures/health/graceful-server.ts)
 * receives real signals while real requests are in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/http.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = path.join(root, 'test/fixtures/health/graceful-server.ts');

interface FixtureEvent {
  event: string;
  [key: string]: unknown;
}

interface Fixture {
  url: string;
  child: ChildProcess;
  events: FixtureEvent[];
  next(event: string, timeout?: number): Promise<FixtureEvent>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function startFixture(env: Record<string, string>): Promise<Fixture> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: FixtureEvent[] = [];
  const waiters: { event: string; resolve: (value: FixtureEvent) => void }[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const parsed = JSON.parse(buffered.slice(0, newline)) as FixtureEvent;
      buffered = buffered.slice(newline + 1);
      events.push(parsed);
      for (const waiter of waiters.filter((entry) => entry.event === parsed.event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const next = (event: string, timeout = 15_000) =>
    new Promise<FixtureEvent>((resolve, reject) => {
      const seen = events.find((entry) => entry.event === event);
      if (seen) return resolve(seen);
      const timer = setTimeout(
        () => reject(new Error(`no "${event}" event within ${timeout} ms; stderr:\n${stderr}`)),
        timeout,
      );
      waiters.push({ event, resolve: (value) => (clearTimeout(timer), resolve(value)) });
      void exit.then(({ code }) =>
        reject(new Error(`fixture exited (${code}) before "${event}"; stderr:\n${stderr}`)),
      );
    });
  const listening = await next('listening', 30_000);
  return { url: String(listening.url), child, events, next, exit };
}

interface Answer {
  status: number;
  body: string;
  reusedSocket: boolean;
  socket: Socket;
}

function get(url: string, agent: http.Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          body,
          reusedSocket: request.reusedSocket,
          socket: request.socket!,
        }),
      );
    });
    request.on('error', reject);
  });
}

/** Resolves true once a fresh connection is refused (the server stopped accepting). */
async function refusesConnections(url: string, attempts = 200): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const refused = await get(`${url}/health/live`, false).then(
      () => false,
      (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
    );
    if (refused) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

describe('graceful shutdown (child process)', () => {
  it('on SIGTERM: readiness 503 at once, stops accepting, the slow request completes, idle sockets close, hooks run in reverse, exit 0', async () => {
    const app = await startFixture({
      SLOW_MS: '1500',
      READINESS_DELAY: '400',
      DRAIN_TIMEOUT: '10000',
    });
    const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(`${app.url}/health/ready`, probeAgent);
      expect(before).toMatchObject({ status: 200, body: '{"status":"ok"}' });
      // A kept-alive connection that stays idle through the shutdown.
      const idle = await get(`${app.url}/health/live`, idleAgent);
      let idleClosed = false;
      idle.socket.once('close', () => (idleClosed = true));

      let slowDone = false;
      const slow = get(`${app.url}/slow`, false).finally(() => (slowDone = true));
      await app.next('slow-started');

      app.child.kill('SIGTERM');
      await app.next('shutting-down');
      const onKeptAlive = await get(`${app.url}/health/ready`, probeAgent);
      expect(onKeptAlive).toMatchObject({
        status: 503,
        body: '{"status":"shutting_down"}',
        reusedSocket: true,
      });
      // During the readiness delay new connections are still accepted and told 503.
      const onNewConnection = await get(`${app.url}/health/ready`, false);
      expect(onNewConnection).toMatchObject({ status: 503, body: '{"status":"shutting_down"}' });
      expect((await get(`${app.url}/health/live`, false)).status).toBe(200);

      expect(await refusesConnections(app.url)).toBe(true);
      // The idle keep-alive socket is closed by the drain, not by the process exiting...
      await waitFor(() => idleClosed, 'the idle keep-alive socket to close', 1_000);
      // ...and both happen while the slow request is still in flight (about 1 s of margin).
      expect(slowDone).toBe(false);

      expect(await slow).toMatchObject({ status: 200, body: '{"done":true}' });
      expect(await app.exit).toEqual({ code: 0, signal: null });
      const order = app.events.map((entry) =>
        entry.event === 'shutdown-hook' ? `hook:${String(entry.plugin)}` : entry.event,
      );
      expect(order).toEqual([
        'listening',
        'slow-started',
        'shutting-down',
        'slow-finished',
        'hook:second',
        'hook:first',
      ]);
    } finally {
      probeAgent.destroy();
      idleAgent.destroy();
    }
  });

  it('bounds the drain: a request slower than drainTimeout is cut and the process still exits 0', async () => {
    const app = await startFixture({
      SLOW_MS: '60000',
      READINESS_DELAY: '100',
      DRAIN_TIMEOUT: '500',
    });
    const slow = get(`${app.url}/slow`, false).then(
      () => 'answered',
      () => 'cut',
    );
    await app.next('slow-started');
    app.child.kill('SIGTERM');
    expect(await app.exit).toEqual({ code: 0, signal: null });
    expect(await slow).toBe('cut');
    expect(
      app.events.filter((entry) => entry.event === 'shutdown-hook').map((entry) => entry.plugin),
    ).toEqual(['second', 'first']);
  });

  it('a second SIGTERM while a very slow request is in flight forces exit 1 at once', async () => {
    const app = await startFixture({
      SLOW_MS: '60000',
      READINESS_DELAY: '100',
      DRAIN_TIMEOUT: '60000',
    });
    const slow = get(`${app.url}/slow`, false).then(
      () => 'answered',
      () => 'cut',
    );
    await app.next('slow-started');
    app.child.kill('SIGTERM');
    await app.next('shutting-down');
    app.child.kill('SIGTERM');
    // Without the forced exit this would wait for the 60 s request (and the test would time out).
    expect(await app.exit).toEqual({ code: 1, signal: null });
    expect(await slow).toBe('cut');
    expect(app.events.map((entry) => entry.event)).not.toContain('shutdown-hook');
  });
});
