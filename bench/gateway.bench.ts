/**
 * `npm run bench:gateway`: GET / through five setups in front of the same node:http hello
 * upstream, one run on loopback, autocannon -c 100, every server in its own process:
 *   (a) direct to the upstream, (b) our gateway (createApp + routing plugin, one request line per
 *   request at info to stdout, a pipe the bench drains; GATEWAY_LOG=file writes the rotating NDJSON
 *   file instead; GATEWAY_LOG_LEVEL=warn drops the request lines, to see what they cost),
 *   (c) Express 5 + http-proxy-middleware with a keep-alive
 *   agent, (d) Fastify + @fastify/http-proxy, (e) a minimal node:http + undici Pool proxy.
 * Goals: (b) >= 1.3x (d) and >= 0.85x (e); p99 added by the gateway <= 2 ms at half its peak rate,
 * measured with requests sent at that steady rate (paced(), open loop).
 * The setups are measured in interleaved rounds (BENCH_ROUNDS, default 3, of BENCH_DURATION
 * seconds, default 8) and the best round counts, so load from elsewhere on the machine hits all
 * alike; the servers' own CPU time per request (Linux /proc) is shown as well.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, median, paced, printTable, startServer, stopServer, type PacedResult } from './support.js';

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
    // One request line per request at info: to stdout (a pipe the bench drains, as in app.bench)
    // by default, or to the rotating NDJSON file the logs plugin reads with GATEWAY_LOG=file.
    logger:
      process.env.GATEWAY_LOG === 'file'
        ? { level: 'info', stdout: false, file: { path: path.join(process.env.LOG_DIR!, 'gateway.ndjson'), maxBytes: 50 * 1024 * 1024, maxFiles: 2 } }
        : { level: (process.env.GATEWAY_LOG_LEVEL ?? 'info') as 'info' },
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
  const duration = Number(process.env.BENCH_DURATION ?? 8);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const logDir = mkdtempSync(path.join(tmpdir(), 'gateway-bench-'));
  const spawnRole = (name: string, env: Record<string, string> = {}) => startServer(self, { GATEWAY_BENCH_ROLE: name, LOG_DIR: logDir, ...env });

  const upstream = await spawnRole('upstream');
  const env = { UPSTREAM_URL: upstream.url };
  const setups: { name: string; label: string; url?: string; child?: ChildProcess }[] = [
    { name: 'direct', label: '(a) direct to the upstream', url: upstream.url, child: upstream.child },
    { name: 'gateway', label: `(b) our gateway (createApp + routing, log: ${process.env.GATEWAY_LOG === 'file' ? 'file' : 'stdout'})` },
    { name: 'express', label: '(c) Express 5 + http-proxy-middleware' },
    { name: 'fastify', label: '(d) Fastify + @fastify/http-proxy' },
    { name: 'undici', label: '(e) node:http + undici Pool' },
  ];
  try {
    // Every server starts once; an idle one costs nothing while the others are measured.
    for (const setup of setups.slice(1)) Object.assign(setup, await spawnRole(setup.name, env));
    // Rounds interleave the setups, so a burst of load from elsewhere on the machine hits them alike.
    const results = await compare(setups.map((setup) => ({ name: setup.name, url: `${setup.url}/`, child: setup.child })), { rounds, duration });
    const best = (name: string) => results.get(name)!;
    const fastify = best('fastify').best.requestsPerSecond;
    const undici = best('undici').best.requestsPerSecond;
    printTable(`Gateway proxy throughput (Node ${process.version}, loopback, autocannon -c 100, best of ${rounds} x ${duration} s)`, setups.map(({ name, label }) => {
      const { best: result, cpuPerRequest: perRequest, errors } = best(name);
      return {
        setup: label,
        'req/s': Math.round(result.requestsPerSecond),
        'p50 ms': result.p50,
        'p99 ms': result.p99,
        'x (d)': (result.requestsPerSecond / fastify).toFixed(2),
        'x (e)': (result.requestsPerSecond / undici).toFixed(2),
        'CPU us/req': perRequest === undefined ? '-' : perRequest.toFixed(1),
        errors,
      };
    }));

    // Latency added at half the gateway's peak: the same steady, evenly spaced rate, direct, through
    // the gateway and through the minimal proxy (e), which shows what any proxy hop costs on this
    // machine (open loop; see paced() for why not autocannon -R).
    const rate = Math.round(best('gateway').best.requestsPerSecond / 2);
    const latency = { direct: [] as PacedResult[], gateway: [] as PacedResult[], undici: [] as PacedResult[] };
    const urls = { direct: upstream.url, gateway: setups[1].url!, undici: setups[4].url! };
    for (let round = 0; round < rounds; round++) {
      for (const name of ['direct', 'gateway', 'undici'] as const) latency[name].push(await paced(`${urls[name]}/`, { rate, duration }));
    }
    const p99 = (runs: PacedResult[]) => median(runs.map((run) => run.p99));
    const row = (setup: string, runs: PacedResult[]) => ({
      setup,
      'p50 ms (median)': median(runs.map((run) => run.p50)),
      'p99 ms (median)': p99(runs),
      'p99 ms (each)': runs.map((run) => run.p99).join(' / '),
      'p99.9 ms (median)': median(runs.map((run) => run.p999)),
      errors: runs.reduce((sum, run) => sum + run.errors, 0),
    });
    printTable(`Latency at half the gateway's peak (${rate} req/s evenly spaced, 100 keep-alive connections, ${rounds} rounds of ${duration} s)`, [
      row('(a) direct', latency.direct),
      row('(b) gateway', latency.gateway),
      row('(e) node:http + undici Pool', latency.undici),
    ]);
    const added = p99(latency.gateway) - p99(latency.direct);
    const vsFastify = best('gateway').best.requestsPerSecond / fastify;
    const vsUndici = best('gateway').best.requestsPerSecond / undici;
    console.log(`\n(b) >= 1.3x (d): ${vsFastify.toFixed(2)}x ${vsFastify >= 1.3 ? 'yes' : 'NO'}`);
    console.log(`(b) >= 0.85x (e): ${vsUndici.toFixed(2)}x ${vsUndici >= 0.85 ? 'yes' : 'NO'}`);
    console.log(`p99 added at ${rate} req/s: ${added.toFixed(2)} ms ${added <= 2 ? 'yes' : 'NO'} (goal <= 2 ms; (e) adds ${(p99(latency.undici) - p99(latency.direct)).toFixed(2)} ms)`);
    console.log(`load average during the run: ${loadavg().map((value) => value.toFixed(2)).join(' ')} on ${availableParallelism()} CPUs`);
  } finally {
    for (const setup of setups) if (setup.child) await stopServer(setup.child);
    rmSync(logDir, { recursive: true, force: true });
  }
}
