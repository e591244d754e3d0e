import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createRateLimitPlugin } from '../rate-limit/index.js';
import {
  rawRequest,
  startGateway,
  unusedPort,
  type TestGateway,
} from '../../../test/support/upstream.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A ws echo server behind a node:http server, as a service would run it. */
async function echoService(): Promise<{ url: string; upgrades: http.IncomingMessage[] }> {
  const upgrades: http.IncomingMessage[] = [];
  const server = http.createServer((_req, res) => void res.end('plain http'));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    upgrades.push(req);
    if (req.url === '/ws/private') {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) =>
      ws.on('message', (data, binary) =>
        ws.send(binary ? data : `echo: ${String(data)}`, { binary }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const client of wss.clients) client.terminate();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, upgrades };
}

async function gateway(...args: Parameters<typeof startGateway>): Promise<TestGateway> {
  const started = await startGateway(...args);
  cleanups.push(() => started.app.stop());
  return started;
}

function open(url: string, options: { origin?: string } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`unexpected ${res.statusCode}`)),
    );
    socket.once('error', reject);
  });
}

function next(socket: WebSocket): Promise<string> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(String(data))));
}

describe('WebSocket upgrades', () => {
  it('echoes text and binary frames through the gateway, with the forwarding headers set', async () => {
    const service = await echoService();
    const { url } = await gateway({
      routes: [{ match: '/ws/*', target: service.url, ws: true, health: false }],
    });
    const socket = await open(`${url.replace('http', 'ws')}/ws/chat?room=1`);
    const reply = next(socket);
    socket.send('hello');
    expect(await reply).toBe('echo: hello');
    const binary = new Promise<Buffer>((resolve) =>
      socket.once('message', (data) => resolve(data as Buffer)),
    );
    socket.send(Buffer.from([0, 1, 2, 255]));
    expect([...(await binary)]).toEqual([0, 1, 2, 255]);
    // A larger message crosses several TCP segments both ways.
    const big = 'x'.repeat(256 * 1024);
    const bigReply = next(socket);
    socket.send(big);
    expect((await bigReply).length).toBe(big.length + 'echo: '.length);
    socket.close();
    expect(service.upgrades[0].url).toBe('/ws/chat?room=1');
    expect(service.upgrades[0].headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(service.upgrades[0].headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses upgrades on routes without ws, a foreign origin, and a dead upstream', async () => {
    const service = await echoService();
    const port = await unusedPort();
    const { url } = await gateway({
      routes: [
        { match: '/ws/*', target: service.url, ws: true, health: false },
        { match: '/plain/*', target: service.url, health: false },
        { match: '/dead/*', target: `http://127.0.0.1:${port}`, ws: true, health: false },
      ],
    });
    const base = url.replace('http', 'ws');
    await expect(open(`${base}/plain/x`)).rejects.toThrow('unexpected 404');
    await expect(open(`${base}/ws/x`, { origin: 'https://evil.example' })).rejects.toThrow(
      'unexpected 403',
    );
    await expect(open(`${base}/dead/x`)).rejects.toThrow('unexpected 502');
    await expect(open(`${base}/ws/private`)).rejects.toThrow('unexpected 401');
    const sameOrigin = await open(`${base}/ws/x`, { origin: url });
    sameOrigin.close();
  });

  it('counts upgrades against the rate limit: over it, 429 problem+json and nothing reaches the service', async () => {
    const service = await echoService();
    const { url, port } = await gateway(
      { routes: [{ match: '/ws/*', target: service.url, ws: true, health: false }] },
      [createRateLimitPlugin({ rules: [{ match: '/ws/*', windowMs: 60_000, limit: 2 }] })],
    );
    const base = url.replace('http', 'ws');
    for (let attempt = 0; attempt < 2; attempt++) {
      const socket = await open(`${base}/ws/x`);
      const reply = next(socket);
      socket.send(`hi ${attempt}`);
      expect(await reply).toBe(`echo: hi ${attempt}`);
      socket.close();
    }
    const refused = await rawRequest(
      port,
      'GET /ws/x HTTP/1.1\r\nHost: g\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(refused).toMatch(/^HTTP\/1\.1 429 /);
    expect(refused).toMatch(/content-type: application\/problem\+json/i);
    expect(refused).toContain('"code":"RATE_LIMIT_EXCEEDED"');
    expect(service.upgrades).toHaveLength(2);
  });

  it('closes the client side when the upstream side goes away', async () => {
    const service = await echoService();
    const { url, app } = await gateway({
      routes: [{ match: '/ws/*', target: service.url, ws: true, health: false }],
    });
    const socket = await open(`${url.replace('http', 'ws')}/ws/x`);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await cleanups.shift()!(); // stops the echo service, terminating its sockets
    expect(await closed).toBe(1006);
    // The gateway itself is unaffected.
    expect(
      await rawRequest(
        (app.server.address() as AddressInfo).port,
        'GET /nothing HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n',
      ),
    ).toMatch(/^HTTP\/1\.1 404/);
  });

  it('closes proxied WebSockets when the app stops, so stopping never waits on them', async () => {
    const service = await echoService();
    const started = await startGateway({
      routes: [{ match: '/ws/*', target: service.url, ws: true, health: false }],
    });
    const socket = await open(`${started.url.replace('http', 'ws')}/ws/x`);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const begun = performance.now();
    await started.app.stop();
    expect(performance.now() - begun).toBeLessThan(1_000);
    expect(await closed).toBe(1006);
  });
});
