import http from 'node:http';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../index.js';
import { waitFor } from '../../../test/support/http.js';
import { createRoutingPlugin } from './index.js';
import { nodeRequest, unusedPort, useTestServers } from '../../../test/support/upstream.js';
const { cleanups, upstream, gateway } = useTestServers();

/** The gateway is still serving: a fresh request on a fresh connection gets its answer. */
async function stillServing(url: string): Promise<void> {
  const response = await nodeRequest(`${url}/no-such-route`);
  expect(response.status).toBe(404);
}

describe('upstream faults', () => {
  it('answers 502 problem+json when the upstream refuses connections', async () => {
    const port = await unusedPort();
    const { url, logs } = await gateway({
      routes: [{ match: '/api/*', target: `http://127.0.0.1:${port}`, health: false }],
    });
    const response = await fetch(`${url}/api/x`, { headers: { 'x-request-id': 'refused-1' } });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('x-request-id')).toBe('refused-1');
    expect(await response.json()).toMatchObject({
      status: 502,
      code: 'ROUTING_UPSTREAM_UNAVAILABLE',
      requestId: 'refused-1',
      instance: '/api/x',
    });
    await waitFor(() => logs.some((line) => line.requestId === 'refused-1'), 'log line');
    expect(logs.find((line) => line.requestId === 'refused-1')).toMatchObject({
      level: 'warn',
      res: { statusCode: 502 },
      upstreamError: expect.stringContaining('ECONNREFUSED'),
    });
    await stillServing(url);
  });

  it('answers 504 once the response-headers timeout passes', async () => {
    const service = await upstream((_req, res) => void setTimeout(() => res.end('late'), 2_000));
    const { url } = await gateway({
      routes: [
        { match: '/*', target: service.url, health: false, timeouts: { responseHeaders: 200 } },
      ],
    });
    const started = performance.now();
    const response = await fetch(`${url}/slow`);
    const elapsed = performance.now() - started;
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ code: 'ROUTING_UPSTREAM_TIMEOUT' });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_900);
  });

  it('takes its timeouts as duration strings, and names the option for a bad one', async () => {
    const service = await upstream((_req, res) => void setTimeout(() => res.end('late'), 2_000));
    const { url } = await gateway({
      routes: [
        { match: '/*', target: service.url, health: false, timeouts: { responseHeaders: '200ms' } },
      ],
    });
    const started = performance.now();
    expect((await fetch(`${url}/slow`)).status).toBe(504);
    expect(performance.now() - started).toBeLessThan(1_900);
    const attempt = () =>
      createApp({
        name: 'bad',
        logger: { level: 'silent' },
        plugins: [createRoutingPlugin({ drainTimeout: '30 seconds' as never, routes: [] })],
      });
    expect(attempt).toThrow(
      /plugins\.routing\.drainTimeout: expected a duration like "1h", "15m", "30s", "500ms" or "1d", or a number of milliseconds/,
    );
  });

  it('answers 504 once the connect timeout passes without a connection', async () => {
    // The connection counts as open once TLS is up: a listener that accepts and never answers
    // the handshake stands for an upstream whose host does not answer.
    const silent = new Set<Socket>();
    const server = createServer((socket) => void silent.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of silent) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const port = (server.address() as { port: number }).port;
    const { url, logs } = await gateway({
      routes: [
        {
          match: '/api/*',
          target: `https://127.0.0.1:${port}`,
          health: false,
          timeouts: { connect: 200 },
        },
      ],
    });
    const started = performance.now();
    const response = await fetch(`${url}/api/x`, { headers: { 'x-request-id': 'connect-1' } });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({
      code: 'ROUTING_UPSTREAM_TIMEOUT',
      requestId: 'connect-1',
    });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_900);
    await waitFor(() => logs.some((line) => line.requestId === 'connect-1'), 'log line');
    expect(logs.find((line) => line.requestId === 'connect-1')).toMatchObject({
      upstreamError: expect.stringContaining('UND_ERR_CONNECT_TIMEOUT'),
    });
    await stillServing(url);
  });

  it('aborts the client connection when the upstream dies mid-response, and logs it', async () => {
    for (const framing of ['content-length', 'chunked'] as const) {
      const service = await upstream((_req, res) => {
        res.writeHead(200, framing === 'content-length' ? { 'content-length': '100000' } : {});
        res.write('x'.repeat(1_000));
        setTimeout(() => res.socket?.destroy(), 50);
      });
      const { url, logs } = await gateway({
        routes: [{ match: '/download', target: service.url, health: false }],
      });
      const outcome = await new Promise<string>((resolve) => {
        const req = http.get(
          `${url}/download`,
          { agent: false, headers: { 'x-request-id': `dies-${framing}` } },
          (res) => {
            let received = 0;
            res.on('data', (chunk: Buffer) => (received += chunk.length));
            res.on('end', () => resolve(`complete after ${received} bytes`));
            res.on('aborted', () => resolve('aborted'));
            res.on('error', () => resolve('aborted'));
          },
        );
        req.on('error', () => resolve('aborted'));
      });
      expect(outcome).toBe('aborted');
      await waitFor(() => logs.some((line) => line.requestId === `dies-${framing}`), 'log line');
      expect(logs.find((line) => line.requestId === `dies-${framing}`)).toMatchObject({
        level: 'warn',
        msg: 'request aborted',
        aborted: true,
        upstreamError: expect.any(String),
      });
      await stillServing(url);
    }
  });

  it('aborts the upstream request when the client goes away', async () => {
    let upstreamClosed = false;
    const service = await upstream((req, res) => {
      res.writeHead(200);
      res.write('first part');
      res.on('close', () => (upstreamClosed = true));
    });
    const { url, logs } = await gateway({
      routes: [{ match: '/stream', target: service.url, health: false }],
    });
    await new Promise<void>((resolve) => {
      const req = http.get(
        `${url}/stream`,
        { agent: false, headers: { 'x-request-id': 'client-gone' } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
    });
    await waitFor(() => upstreamClosed, 'the upstream request to be aborted');
    await waitFor(() => logs.some((line) => line.requestId === 'client-gone'), 'log line');
    expect(logs.find((line) => line.requestId === 'client-gone')).toMatchObject({ aborted: true });
    await stillServing(url);
  });

  it('survives an upstream that answers garbage or closes without answering', async () => {
    const net = await import('node:net');
    const server = net.createServer((socket) => {
      socket.once('data', (data) => {
        if (data.toString().includes('/garbage')) socket.end('NOT HTTP AT ALL\r\n\r\n');
        else socket.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const { url } = await gateway({
      routes: [{ match: '/*', target: `http://127.0.0.1:${port}`, health: false }],
    });
    expect((await fetch(`${url}/garbage`)).status).toBe(502);
    expect((await fetch(`${url}/hangup`)).status).toBe(502);
  });
});
