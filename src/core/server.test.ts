import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../index.js';
import {
  startGateway,
  startUpstream,
  type TestGateway,
  type TestUpstream,
} from '../../test/support/upstream.js';

/** Sends raw bytes; resolves with what came back and whether the server closed the connection. */
function exchange(
  port: number,
  payload: string,
  timeout = 2_000,
): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ answer, closed: true }));
    socket.setTimeout(timeout, () => {
      resolve({ answer, closed: false });
      socket.destroy();
    });
    socket.write(payload);
  });
}

const bodyOf = (answer: string) =>
  JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

let service: TestUpstream;
let gateway: TestGateway;
beforeAll(async () => {
  service = await startUpstream();
  service.server.on('upgrade', (_req, socket) =>
    socket.end(
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
    ),
  );
  const express = definePlugin({
    name: 'hello',
    routes: [
      { method: 'get', path: '/hello', handler: (_req, res) => void res.json({ hello: 'world' }) },
      {
        method: 'post',
        path: '/drain',
        handler: (req, res) => void req.resume().on('end', () => res.json({ drained: true })),
      },
    ],
  });
  gateway = await startGateway(
    { routes: [{ match: '/proxied/*', target: service.url, ws: true, health: false }] },
    [express],
  );
});
afterAll(async () => {
  await gateway.app.stop();
  await service.close();
});

describe('the core server', () => {
  it.each([
    ['an Express route', 'GET /hello HTTP/1.1'],
    ['a proxied route', 'GET /proxied/a HTTP/1.1'],
    [
      'a WebSocket upgrade',
      'GET /proxied/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ],
  ])(
    'answers two Host headers with 400 problem+json and closes, on %s',
    async (_name, requestLine) => {
      const before = service.seen.length;
      const [line, ...rest] = requestLine.split('\r\n');
      const head = [
        line,
        'Host: 127.0.0.1',
        ...rest,
        'host: evil.example',
        'x-request-id: two-hosts',
      ].join('\r\n');
      const { answer, closed } = await exchange(gateway.port, `${head}\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(bodyOf(answer)).toMatchObject({
        status: 400,
        code: 'REQUEST_DUPLICATE_HOST',
        requestId: 'two-hosts',
      });
      expect(closed).toBe(true);
      expect(service.seen.length).toBe(before);
      expect(gateway.logs.filter((entry) => entry.requestId === 'two-hosts').at(-1)).toMatchObject({
        res: { statusCode: 400 },
      });
    },
  );

  it('serves one Host header, in any case, on each lane', async () => {
    const hello = await exchange(
      gateway.port,
      'GET /hello HTTP/1.1\r\nHOST: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(hello.answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*"hello":"world"/);
    const proxied = await exchange(
      gateway.port,
      'GET /proxied/a HTTP/1.1\r\nhost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(proxied.answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*ok$/);
  });

  it('refuses ambiguous framing on Express routes too, not only on proxied ones', async () => {
    const { answer } = await exchange(
      gateway.port,
      'POST /hello HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(answer)).toMatchObject({ code: 'REQUEST_AMBIGUOUS_FRAMING' });
  });

  it.each([
    [
      'both Content-Length and Transfer-Encoding',
      'POST /hello HTTP/1.1\r\nHost: g\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'REQUEST_AMBIGUOUS_FRAMING',
    ],
    ['no Host on HTTP/1.1', 'GET /hello HTTP/1.1\r\n\r\n', 400, 'REQUEST_HOST_REQUIRED'],
    ['a line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'REQUEST_MALFORMED'],
    ['a header without a colon', 'GET /hello HTTP/1.1\r\nHost g\r\n\r\n', 400, 'REQUEST_MALFORMED'],
    [
      'a head over 16 KiB',
      `GET /hello HTTP/1.1\r\nHost: g\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'REQUEST_HEADERS_TOO_LARGE',
    ],
  ])(
    'answers what the parser refuses (%s) with problem+json, not a bare status line',
    async (_name, payload, status, code) => {
      const { answer, closed } = await exchange(gateway.port, payload);
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(bodyOf(answer)).toMatchObject({ status, code });
      expect(closed).toBe(true);
    },
  );

  it.each([
    ['a malformed head', 'GET /hello HTTP/1.1\r\nHost g\r\n\r\n'],
    [
      'a bad chunk in the middle of a body',
      'POST /drain HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nZZ\r\n',
    ],
  ])(
    'closes the connection after refusing %s, though the client keeps its half open',
    async (_name, payload) => {
      // The server's end of this connection: the next one it accepts.
      const accepted = new Promise<net.Socket>((resolve) =>
        gateway.app.server.once('connection', resolve),
      );
      const socket = net.connect({ port: gateway.port, host: '127.0.0.1', allowHalfOpen: true });
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', () => undefined);
      try {
        const serverSide = await accepted;
        const closed = new Promise<boolean>((resolve) => {
          if (serverSide.destroyed) return resolve(true);
          serverSide.once('close', () => resolve(true));
          setTimeout(() => resolve(false), 2_000);
        });
        socket.write(payload);
        await new Promise((resolve) => socket.once('end', resolve));
        expect(answer).toMatch(/^HTTP\/1\.1 400 [\s\S]*"code":"REQUEST_MALFORMED"/);
        // The client neither writes nor closes: a server that only half-closed keeps the
        // connection (and its slot) until a timeout; one that closed has let it go.
        expect(await closed).toBe(true);
      } finally {
        socket.destroy();
      }
    },
  );

  it('answers an upgrade no route takes with a 404 problem, and logs it', async () => {
    const { answer } = await exchange(
      gateway.port,
      'GET /elsewhere HTTP/1.1\r\nHost: g\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-request-id: no-ws-route\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(bodyOf(answer)).toMatchObject({ code: 'ROUTE_NOT_FOUND', requestId: 'no-ws-route' });
    expect(gateway.logs.find((entry) => entry.requestId === 'no-ws-route')).toMatchObject({
      res: { statusCode: 404 },
      upgrade: true,
    });
  });

  it('refuses an upgrade on an ambiguous path as it refuses a request (400 problem+json)', async () => {
    for (const path of ['/proxied/a%2fb', '/proxied/%zz']) {
      const upgrade = await exchange(
        gateway.port,
        `GET ${path} HTTP/1.1\r\nHost: g\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
      );
      const plain = await exchange(
        gateway.port,
        `GET ${path} HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`,
      );
      expect(upgrade.answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(plain.answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(bodyOf(upgrade.answer)).toMatchObject({ code: 'ROUTING_INVALID_PATH' });
      expect(bodyOf(plain.answer)).toMatchObject({ code: 'ROUTING_INVALID_PATH' });
    }
  });
});
