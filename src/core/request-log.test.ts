import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createApp,
  createLogger,
  definePlugin,
  flushLogger,
  logWhenDone,
  redactUrl,
  requestLoggers,
  type App,
} from '../index.js';
import { closeLogger } from './logger.js';
import { milliseconds } from './request-log.js';
import { baseUrl, captureLogs, json, waitFor } from '../../test/support/http.js';
import { createLogsPlugin } from '../plugins/logs/index.js';
import { createRateLimitPlugin } from '../plugins/rate-limit/index.js';
import { createRoutingPlugin } from '../plugins/routing/index.js';
import { startUpstream, type TestUpstream } from '../../test/support/upstream.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const hello = definePlugin({
  name: 'hello',
  routes: [
    {
      method: 'get',
      path: '/api/v1/hello',
      handler: (_req, res) => void res.json({ hello: 'world' }),
    },
    {
      method: 'get',
      path: '/api/v1/boom',
      handler: () => {
        throw new Error('exploded');
      },
    },
  ],
});

async function upstream(): Promise<TestUpstream> {
  const started = await startUpstream((_req, res) => void res.end('proxied'));
  started.server.on('upgrade', (_req, socket) =>
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n'),
  );
  cleanups.push(started.close);
  return started;
}

async function started(app: App): Promise<string> {
  cleanups.push(() => app.stop());
  await app.start();
  return baseUrl(app);
}

// Every secret value is distinct, so finding any of them anywhere in the log is a leak.
const SECRETS = [
  'tok-1',
  'pw-2',
  'acc-3',
  'idt-4',
  'ref-5',
  'code-6',
  'sec-7',
  'ak-8',
  'ak-9',
  'key-10',
  'sig-11',
  'sg-12',
];
const QUERY =
  'Token=tok-1&password=pw-2&ACCESS_TOKEN=acc-3&id_token=idt-4&refresh_token=ref-5&code=code-6&secret=sec-7&api_key=ak-8&apikey=ak-9&key=key-10&signature=sig-11&sig=sg-12&page=2';
const REDACTED_QUERY =
  'Token=[REDACTED]&password=[REDACTED]&ACCESS_TOKEN=[REDACTED]&id_token=[REDACTED]&refresh_token=[REDACTED]&code=[REDACTED]&secret=[REDACTED]' +
  '&api_key=[REDACTED]&apikey=[REDACTED]&key=[REDACTED]&signature=[REDACTED]&sig=[REDACTED]&page=2';

describe('request log lines', () => {
  it('redact credentials in query strings, for Express and proxied requests and error lines, in the log file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'qwick-redact-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const logFile = path.join(dir, 'app.log');
    const service = await upstream();
    const app = createApp({
      name: 'redact',
      port: 0,
      host: '127.0.0.1',
      shutdown: { signals: false },
      logger: { file: { path: logFile }, stdout: false, level: 'info' },
      plugins: [
        createLogsPlugin(),
        createRoutingPlugin({
          routes: [{ match: '/proxied/*', target: service.url, health: false }],
        }),
        hello,
      ],
    });
    const url = await started(app);
    const ids = { express: 'redact-express', proxied: 'redact-proxied', error: 'redact-error' };
    expect(
      (await fetch(`${url}/api/v1/hello?${QUERY}`, { headers: { 'x-request-id': ids.express } }))
        .status,
    ).toBe(200);
    expect(
      await (
        await fetch(`${url}/proxied/x?${QUERY}`, { headers: { 'x-request-id': ids.proxied } })
      ).text(),
    ).toBe('proxied');
    // The upstream still gets the query as sent: only the log is redacted.
    expect(service.seen.at(-1)?.url).toBe(`/proxied/x?${QUERY}`);
    expect(
      (await fetch(`${url}/api/v1/boom?${QUERY}`, { headers: { 'x-request-id': ids.error } }))
        .status,
    ).toBe(500);
    await flushLogger(app.context.logger);

    const entries = async (requestId: string) =>
      (await json(fetch(`${url}/api/logs?requestId=${requestId}`))).entries as Record<
        string,
        unknown
      >[];
    await waitFor(
      async () => (await entries(ids.error)).length === 2,
      'the error and request lines of /api/v1/boom',
    );
    expect(await entries(ids.express)).toMatchObject([
      { msg: 'request completed', req: { url: `/api/v1/hello?${REDACTED_QUERY}` } },
    ]);
    expect(await entries(ids.proxied)).toMatchObject([
      {
        msg: 'request completed',
        route: '/proxied/*',
        req: { url: `/proxied/x?${REDACTED_QUERY}` },
      },
    ]);
    expect(await entries(ids.error)).toMatchObject([
      { msg: 'request completed', req: { url: `/api/v1/boom?${REDACTED_QUERY}` } },
      { msg: 'request failed', url: `/api/v1/boom?${REDACTED_QUERY}` },
    ]);
    const text = await readFile(logFile, 'utf8');
    for (const value of SECRETS) expect(text, value).not.toContain(value);
  });

  it('redact them at debug too: the Referer header, rate-limit lines and WebSocket upgrade lines', async () => {
    const capture = captureLogs();
    const service = await upstream();
    const app = createApp({
      name: 'redact-debug',
      port: 0,
      host: '127.0.0.1',
      shutdown: { signals: false },
      logger: { destination: capture.stream, level: 'debug' },
      plugins: [
        createRoutingPlugin({
          routes: [{ match: '/ws/*', target: service.url, ws: true, health: false }],
        }),
        createRateLimitPlugin({ rules: [{ match: '/api/v1/*', windowMs: 60_000, limit: 1 }] }),
        hello,
      ],
    });
    const url = await started(app);
    const referer = `https://app.example/callback?${QUERY}`;
    expect((await fetch(`${url}/api/v1/hello?${QUERY}`, { headers: { referer } })).status).toBe(
      200,
    );
    expect((await fetch(`${url}/api/v1/hello?${QUERY}`)).status).toBe(429);
    // The upstream refuses the handshake, which the gateway relays and logs as an upgrade line.
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws/feed?${QUERY}`);
    await new Promise((resolve) => socket.once('error', resolve));
    await waitFor(() => capture.lines.some((line) => line.upgrade === true), 'the upgrade line');
    await flushLogger(app.context.logger);

    const completed = capture.lines.filter((line) => line.msg === 'request completed');
    expect(completed.map((line) => (line.req as { url: string }).url)).toEqual([
      `/api/v1/hello?${REDACTED_QUERY}`,
      `/api/v1/hello?${REDACTED_QUERY}`,
      `/ws/feed?${REDACTED_QUERY}`,
    ]);
    expect((completed[0].req as { headers: Record<string, string> }).headers.referer).toBe(
      `https://app.example/callback?${REDACTED_QUERY}`,
    );
    expect(capture.lines.find((line) => line.msg === 'rate limit exceeded')).toMatchObject({
      url: `/api/v1/hello?${REDACTED_QUERY}`,
    });
    const text = JSON.stringify(capture.lines);
    for (const value of SECRETS) expect(text, value).not.toContain(value);
  });
});

describe('redactUrl', () => {
  it('keeps names, order and everything else; leaves a target without credentials untouched', () => {
    const plain = '/api/v1/items?limit=20&offset=40';
    expect(redactUrl(plain)).toBe(plain);
    expect(redactUrl('/a')).toBe('/a');
    expect(redactUrl('/cb?state=xyz&code=abc#code=kept')).toBe(
      '/cb?state=xyz&code=[REDACTED]#code=kept',
    );
    expect(redactUrl('/x?%74oken=a&tokens=b&key&=c&&Sig=d=e')).toBe(
      '/x?%74oken=[REDACTED]&tokens=b&key&=c&&Sig=[REDACTED]',
    );
    expect(redactUrl('/x?%zz=1&password=')).toBe('/x?%zz=1&password=[REDACTED]');
    expect(redactUrl('https://idp.example/authorize?client_id=app&id_token=t')).toBe(
      'https://idp.example/authorize?client_id=app&id_token=[REDACTED]',
    );
  });
});

describe('the request line written as one string', () => {
  it('has the bytes pino writes for the same line, at info and warn, with extras and escapes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'request-line-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'app.ndjson');
    const root = createLogger({ level: 'info', stdout: false, file: { path: file } });
    cleanups.push(() => closeLogger(root));
    const logger = root.child({ app: 'lines' });
    const fast = requestLoggers(logger, () => '127.0.0.1');
    expect(fast.line).toBeDefined();
    const viaPino = { ...fast, line: undefined };
    const extras = { route: 'r"1', upstream: 'http://127.0.0.1:1/é', skipped: undefined };
    const server = http.createServer((req, res) => {
      const status = Number(new URL(req.url!, 'http://x').searchParams.get('status'));
      for (const loggers of [fast, viaPino])
        logWhenDone(
          loggers,
          req,
          res,
          'id-"1"',
          req.url!,
          req.url!.includes('extras') ? extras : undefined,
        );
      res.statusCode = status;
      res.end('done');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const target of ['/a?status=200', '/b%22%5C%E2%82%AC?status=503&extras=1'])
      expect((await fetch(`${base}${target}`)).status).toBeGreaterThan(0);
    await flushLogger(logger);
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .filter((line) => line.includes('request '))
      // The clock and the measured time differ between the two writes of a line, nothing else.
      .map((line) =>
        line
          .replace(/"time":"[^"]+"/, '"time":"T"')
          .replace(/"responseTime":[\d.]+/, '"responseTime":0'),
      );
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(lines[1]);
    expect(lines[2]).toBe(lines[3]);
    expect(JSON.parse(lines[2])).toMatchObject({
      level: 'warn',
      app: 'lines',
      route: 'r"1',
      requestId: 'id-"1"',
    });
  });
});

describe('the response time on a request line', () => {
  it('prints milliseconds rounded to hundredths exactly as Math.round(ms * 100) / 100 prints', () => {
    const samples = [
      0,
      0.004,
      0.005,
      0.1,
      0.999,
      1,
      1.005,
      1.1,
      9.99,
      10.5,
      59_999.996,
      123_456.78,
      // Out of any sane range, printed the slow way but alike.
      -0.05,
      -12.345,
      Number.NaN,
      Infinity,
      1e15,
      2 ** 53,
    ];
    for (let index = 0; index < 20_000; index++)
      samples.push(Math.random() * (index % 2 ? 5 : 90_000));
    for (const elapsed of samples)
      expect(milliseconds(elapsed)).toBe(String(Math.round(elapsed * 100) / 100));
  });
});
