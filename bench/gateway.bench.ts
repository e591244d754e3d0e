/**
 * `npm run bench:gateway`: GET / through five setups in front of the same node:http hello
 * upstream, one run on loopback, autocannon -c 100, every server in its own process:
 *   (a) direct to the upstream, (b) our gateway (createApp + routing plugin, request log at info
 *   to an NDJSON file in the temp folder), (c) Express 5 + http-proxy-middleware with a keep-alive
 *   agent, (d) Fastify + @fastify/http-proxy, (e) a minimal node:http + undici Pool proxy.
 * Goals: (b) >= 1.3x (d) and >= 0.85x (e); p99 added by the gateway <= 2 ms at half its peak rate.
 * BENCH_DURATION (seconds, default 10) sets the length of each run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, printTable, startServer, stopServer, type LoadResult } from './support.js';

const role = process.env.GATEWAY_BENCH_ROLE;
const upstreamUrl = process.env.UPSTREAM_URL ?? '';
const listening = (server: http.Server) => console.log(`LISTENING http://127.0.0.1:${(server.address() as AddressInfo).port}`);
const listen = (server: http.Server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)).then(() => listening(server));

if (role === 'upstream') {
  const body = 'Hello, world!';
  await listen(http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  }));
} else if (role === 'gateway') {
  const { createApp } = await import('../src/index.js');
  const { createRoutingPlugin } = await import('../src/plugins/routing/index.js');
  const app = createApp({
    name: 'bench-gateway',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'info', stdout: false, file: { path: path.join(process.env.LOG_DIR!, 'gateway.ndjson'), maxBytes: 50 * 1024 * 1024, maxFiles: 2 } },
    shutdown: { signals: false },
    plugins: [createRoutingPlugin({ routes: [{ match: '/*', target: upstreamUrl, health: false }] })],
  });
  await app.start();
  listening(app.server);
} else if (role === 'express') {
  const { default: express } = await import('express');
  const { createProxyMiddleware } = await import('http-proxy-middleware');
  const app = express();
  app.use(createProxyMiddleware({ target: upstreamUrl, agent: new http.Agent({ keepAlive: true, maxSockets: 128 }) }));
  await listen(http.createServer(app));
} else if (role === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const { default: proxy } = await import('@fastify/http-proxy');
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: upstreamUrl });
  await app.listen({ port: 0, host: '127.0.0.1' });
  listening(app.server);
} else if (role === 'undici') {
  // The floor: no routing, no logging, no header hygiene; status, headers and body relayed.
  const { Pool } = await import('undici');
  const pool = new Pool(upstreamUrl, { connections: 128 });
  await listen(http.createServer((req, res) => {
    pool.dispatch(
      { path: req.url!, method: req.method as 'GET', headers: req.headers as Record<string, string>, body: req.method === 'GET' ? null : req },
      {
        onRequestStart() {},
        onResponseStart(_controller, status, headers) {
          delete headers.connection;
          delete headers['keep-alive'];
          delete headers['transfer-encoding'];
          res.writeHead(status, headers as Record<string, string>);
        },
        onResponseData(_controller, chunk) {
          res.write(chunk);
        },
        onResponseEnd() {
          res.end();
        },
        onResponseError() {
          if (res.headersSent) res.destroy();
          else res.writeHead(502).end();
        },
      },
    );
  }));
} else {
  await main();
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const logDir = mkdtempSync(path.join(tmpdir(), 'gateway-bench-'));
  const spawnRole = (name: string, env: Record<string, string> = {}) => startServer(self, { GATEWAY_BENCH_ROLE: name, LOG_DIR: logDir, ...env });

  const upstream = await spawnRole('upstream');
  const env = { UPSTREAM_URL: upstream.url };
  const peak: Record<string, LoadResult> = {};
  const setups: [string, string][] = [
    ['gateway', '(b) our gateway (createApp + routing)'],
    ['express', '(c) Express 5 + http-proxy-middleware'],
    ['fastify', '(d) Fastify + @fastify/http-proxy'],
    ['undici', '(e) node:http + undici Pool'],
  ];
  try {
    peak.direct = await load(`${upstream.url}/`, { duration });
    for (const [name] of setups) {
      const server = await spawnRole(name, env);
      peak[name] = await load(`${server.url}/`, { duration });
      await stopServer(server.child);
    }
    // Latency added at half the gateway's peak: the same fixed rate, direct and through the gateway.
    const rate = Math.round(peak.gateway.requestsPerSecond / 2);
    const directAtRate = await load(`${upstream.url}/`, { duration, overallRate: rate });
    const gateway = await spawnRole('gateway', env);
    const gatewayAtRate = await load(`${gateway.url}/`, { duration, overallRate: rate });
    await stopServer(gateway.child);

    const row = (label: string, result: LoadResult) => ({
      setup: label,
      'req/s': Math.round(result.requestsPerSecond),
      'p50 ms': result.p50,
      'p99 ms': result.p99,
      'x (d)': (result.requestsPerSecond / peak.fastify.requestsPerSecond).toFixed(2),
      'x (e)': (result.requestsPerSecond / peak.undici.requestsPerSecond).toFixed(2),
      errors: result.errors + result.non2xx,
    });
    printTable(`Gateway proxy throughput (Node ${process.version}, loopback, autocannon -c 100, ${duration} s each)`, [
      row('(a) direct to the upstream', peak.direct),
      ...setups.map(([name, label]) => row(label, peak[name])),
    ]);
    printTable(`Latency at half the gateway's peak (${rate} req/s, -R)`, [
      { setup: '(a) direct', 'p50 ms': directAtRate.p50, 'p99 ms': directAtRate.p99, errors: directAtRate.errors + directAtRate.non2xx },
      { setup: '(b) gateway', 'p50 ms': gatewayAtRate.p50, 'p99 ms': gatewayAtRate.p99, errors: gatewayAtRate.errors + gatewayAtRate.non2xx },
    ]);
    const added = gatewayAtRate.p99 - directAtRate.p99;
    const vsFastify = peak.gateway.requestsPerSecond / peak.fastify.requestsPerSecond;
    const vsUndici = peak.gateway.requestsPerSecond / peak.undici.requestsPerSecond;
    console.log(`\n(b) >= 1.3x (d): ${vsFastify.toFixed(2)}x ${vsFastify >= 1.3 ? 'yes' : 'NO'}`);
    console.log(`(b) >= 0.85x (e): ${vsUndici.toFixed(2)}x ${vsUndici >= 0.85 ? 'yes' : 'NO'}`);
    console.log(`p99 added at ${rate} req/s: ${added.toFixed(2)} ms ${added <= 2 ? 'yes' : 'NO'} (goal <= 2 ms)`);
  } finally {
    await stopServer(upstream.child);
    rmSync(logDir, { recursive: true, force: true });
  }
}
