/**
 * `npm run bench:gateway`: GET / through six setups in front of the same node:http hello
 * upstream, one run on loopback, autocannon -c 100, every server in its own process:
 *   (a) direct to the upstream,
 *   (b) the gateway preset as users run it: `createGateway` with its defaults (security headers,
 *       the default rate limit, raised so it never refuses, the control panel, config, logs,
 *       diagnostics) and one proxy route, one request line per request to the rotating log file,
 *   (c) routing only: createApp + the routing plugin, the same request line,
 *   (d) Express 5 + http-proxy-middleware with a keep-alive agent,
 *   (e) Fastify + @fastify/http-proxy,
 *   (f) a minimal node:http + undici Pool proxy,
 *   (g) the preset of (b) with `auth: 'required'` on the route and the auth plugin verifying an
 *       ES256 bearer token (a jwtAdapter with a public key the bench makes) on every request,
 *       then forwarding the identity upstream as the token it signs, as users run it.
 * GATEWAY_LOG=stdout writes the request lines to stdout (a pipe the bench drains) instead of the
 * file; GATEWAY_LOG_LEVEL=warn drops them, to see what they cost. GATEWAY_COMPARE_WRITERS=1 adds
 * the preset once more with pino's own sonic-boom file destination (batched with `minLength`)
 * instead of the core's log writer, measured in the same interleaved rounds.
 * GATEWAY_COMPARE_HEADERS=1 adds (f2), the undici proxy of (f) answering with the headers the
 * preset adds to a data answer (a request id, the two RateLimit headers, the three data security
 * headers): what those bytes cost the proxy and the load generator, apart from the gateway's code.
 * Goals: (b) >= 0.85x (f) and >= 1.5x (e); (c) >= 0.95x (f); (g) >= 0.85x (b): verifying
 * callers costs at most 15% of the preset's requests/s. One client sends one token, so (g) measures
 * the verified-token cache's hit path plus the identity signed per request.
 * The setups take turns in many short rounds (BENCH_ROUNDS, default 8, of BENCH_DURATION seconds,
 * default 4), and a ratio is the median of the per-round ratios: on a shared 2-core VM the CPU
 * left to the bench swings by half within seconds, and a ratio of two measurements seconds apart
 * is what stays put. The servers' own CPU time per request (Linux /proc) is shown as well.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { compare, median, printTable, ratio, startServer, stopServer } from './support.js';

/** The bench's own token issuer, for (g). */
const BENCH_ISSUER = 'https://id.bench.example';
const BENCH_AUDIENCE = 'https://api.bench.example';

const role = process.env.GATEWAY_BENCH_ROLE;
const upstreamUrl = process.env.UPSTREAM_URL ?? '';
const listening = (server: http.Server) =>
  console.log(`LISTENING http://127.0.0.1:${(server.address() as AddressInfo).port}`);
const listen = (server: http.Server) =>
  new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)).then(() =>
    listening(server),
  );

if (role === 'upstream') {
  const body = 'Hello, world!';
  await listen(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    }),
  );
} else if (
  role === 'preset' ||
  role === 'routing' ||
  role === 'preset-sonic-boom' ||
  role === 'preset-auth'
) {
  const level = (process.env.GATEWAY_LOG_LEVEL ?? 'info') as 'info';
  const file = path.join(process.env.LOG_DIR!, `${role}.ndjson`);
  const { default: pino } = await import('pino');
  const logger =
    role === 'preset-sonic-boom'
      ? // The same pino options; only the destination differs: sonic-boom, asynchronous, batched (minLength must stay under its 16 KiB maxWrite).
        {
          level,
          stdout: false,
          destination: pino.destination({
            dest: file,
            sync: false,
            minLength: 8 * 1024,
            periodicFlush: 100,
            mkdir: true,
          }),
        }
      : process.env.GATEWAY_LOG === 'stdout'
        ? { level }
        : { level, stdout: false, file: { path: file, maxBytes: 50 * 1024 * 1024, maxFiles: 2 } };
  const route = {
    id: 'upstream',
    match: '/*',
    target: upstreamUrl,
    health: false as const,
    ...(role === 'preset-auth' ? { auth: 'required' as const } : {}),
  };
  let app;
  if (role !== 'routing') {
    const { createGateway } = await import('../src/gateway/index.js');
    const plugins = [];
    if (role === 'preset-auth') {
      const { createAuthPlugin, jwtAdapter } = await import('../src/plugins/auth/index.js');
      plugins.push(
        createAuthPlugin({
          providers: [
            jwtAdapter({
              issuer: BENCH_ISSUER,
              audience: BENCH_AUDIENCE,
              publicKeys: [JSON.parse(process.env.BENCH_PUBLIC_JWK!) as { kty: string }],
              algorithms: ['ES256'],
            }),
          ],
          forward: { secret: process.env.BENCH_FORWARD_SECRET! },
        }),
      );
    }
    app = createGateway({
      name: 'bench-preset',
      port: 0,
      host: '127.0.0.1',
      logger,
      shutdown: { signals: false },
      routing: { routes: [route] },
      frontend: false,
      // The default rule, raised so that the bench measures its cost and never a refusal.
      rateLimit: { default: { windowMs: 60_000, limit: 1_000_000_000 } },
      controlPanel: { password: 'bench-control-panel-password' },
      plugins,
    });
  } else {
    const { createApp } = await import('../src/index.js');
    const { createRoutingPlugin } = await import('../src/plugins/routing/index.js');
    app = createApp({
      name: 'bench-routing',
      port: 0,
      host: '127.0.0.1',
      logger,
      shutdown: { signals: false },
      plugins: [createRoutingPlugin({ routes: [route] })],
    });
  }
  await app.start();
  listening(app.server);
} else if (role === 'express') {
  const { default: express } = await import('express');
  const { createProxyMiddleware } = await import('http-proxy-middleware');
  const app = express();
  app.use(
    createProxyMiddleware({
      target: upstreamUrl,
      agent: new http.Agent({ keepAlive: true, maxSockets: 128 }),
    }),
  );
  await listen(http.createServer(app));
} else if (role === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const { default: proxy } = await import('@fastify/http-proxy');
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream: upstreamUrl });
  await app.listen({ port: 0, host: '127.0.0.1' });
  listening(app.server);
} else if (role === 'undici' || role === 'undici-headers') {
  // The floor: no routing, no logging, no header hygiene; status, headers and body relayed.
  const { Pool } = await import('undici');
  const { randomUUID } = await import('node:crypto');
  // (f2): what the preset adds to a data answer, in the same bytes (the limit as (b) sets it).
  const added = role === 'undici-headers';
  let remaining = 1_000_000_000;
  const pool = new Pool(upstreamUrl, { connections: 128 });
  await listen(
    http.createServer((req, res) => {
      pool.dispatch(
        {
          path: req.url!,
          method: req.method as 'GET',
          headers: req.headers as Record<string, string>,
          body: req.method === 'GET' ? null : req,
        },
        {
          onRequestStart() {},
          onResponseStart(_controller, status, headers) {
            delete headers.connection;
            delete headers['keep-alive'];
            delete headers['transfer-encoding'];
            if (added)
              Object.assign(headers, {
                'x-request-id': randomUUID(),
                'ratelimit-policy': '1000000000;w=60',
                ratelimit: `limit=1000000000, remaining=${--remaining}, reset=60`,
                'cross-origin-resource-policy': 'same-origin',
                'x-content-type-options': 'nosniff',
                'content-security-policy': "default-src 'none';frame-ancestors 'none'",
              });
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
    }),
  );
} else {
  await main();
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const duration = Number(process.env.BENCH_DURATION ?? 4);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
  const logDir = mkdtempSync(path.join(tmpdir(), 'gateway-bench-'));
  const spawnRole = (name: string, env: Record<string, string> = {}) =>
    startServer(self, { GATEWAY_BENCH_ROLE: name, LOG_DIR: logDir, ...env });

  const upstream = await spawnRole('upstream');
  // (g)'s issuer: a key made here, its public half given to the gateway, one token for the load.
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const token = await new SignJWT({ roles: ['bench'] })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench-1' })
    .setIssuer(BENCH_ISSUER)
    .setAudience(BENCH_AUDIENCE)
    .setSubject('bench-user')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  const env = {
    UPSTREAM_URL: upstream.url,
    BENCH_PUBLIC_JWK: JSON.stringify({
      ...(await exportJWK(publicKey)),
      kid: 'bench-1',
      alg: 'ES256',
    }),
    BENCH_FORWARD_SECRET: 'bench-forward-secret-of-at-least-32-characters',
  };
  const setups: {
    name: string;
    label: string;
    url?: string;
    child?: ChildProcess;
    headers?: Record<string, string>;
  }[] = [
    {
      name: 'direct',
      label: '(a) direct to the upstream',
      url: upstream.url,
      child: upstream.child,
    },
    { name: 'preset', label: '(b) createGateway preset, defaults' },
    { name: 'routing', label: '(c) createApp + routing only' },
    { name: 'express', label: '(d) Express 5 + http-proxy-middleware' },
    { name: 'fastify', label: '(e) Fastify + @fastify/http-proxy' },
    { name: 'undici', label: '(f) node:http + undici Pool' },
    {
      name: 'preset-auth',
      label: "(g) the preset, auth: 'required', bearer token",
      headers: { authorization: `Bearer ${token}` },
    },
    ...(process.env.GATEWAY_COMPARE_HEADERS
      ? [{ name: 'undici-headers', label: "(f2) (f) with the preset's answer headers" }]
      : []),
    ...(process.env.GATEWAY_COMPARE_WRITERS
      ? [{ name: 'preset-sonic-boom', label: '(b2) the preset, sonic-boom file destination' }]
      : []),
  ];
  try {
    // Every server starts once; an idle one costs nothing while the others are measured.
    for (const setup of setups.slice(1)) Object.assign(setup, await spawnRole(setup.name, env));
    // Rounds interleave the setups, so a burst of load from elsewhere on the machine hits them alike.
    const results = await compare(
      setups.map((setup) => ({
        name: setup.name,
        url: `${setup.url}/`,
        child: setup.child,
        headers: setup.headers,
      })),
      { rounds, duration },
    );
    const of = (name: string) => results.get(name)!;
    const versus = (a: string, b: string) => ratio(of(a), of(b));
    const log = process.env.GATEWAY_LOG === 'stdout' ? 'stdout' : 'file';
    printTable(
      `Gateway proxy throughput (Node ${process.version}, loopback, autocannon -c 100, ${rounds} interleaved rounds x ${duration} s, request lines: ${log}; ratios are medians of per-round ratios)`,
      setups.map(({ name, label }) => {
        const { rounds: each, cpuPerRequest: perRequest, errors } = of(name);
        const middle = each[Math.floor(each.length / 2)];
        return {
          setup: label,
          'median req/s': Math.round(median(each.map((round) => round.requestsPerSecond))),
          'p50 ms': middle.p50,
          'p99 ms': middle.p99,
          'x (e)': versus(name, 'fastify').median.toFixed(2),
          'x (f)': versus(name, 'undici').median.toFixed(2),
          'CPU us/req': perRequest === undefined ? '-' : perRequest.toFixed(1),
          errors,
        };
      }),
    );
    const goal = (what: string, a: string, b: string, target: number) => {
      const { median: value, low, high } = versus(a, b);
      console.log(
        `${what} >= ${target}x: ${value.toFixed(2)}x (rounds ${low.toFixed(2)}-${high.toFixed(2)}) ${value >= target ? 'yes' : 'NO'}`,
      );
    };
    console.log('');
    goal('(b) preset vs (f) undici', 'preset', 'undici', 0.85);
    goal('(b) preset vs (e) Fastify', 'preset', 'fastify', 1.5);
    goal('(c) routing vs (f) undici', 'routing', 'undici', 0.95);
    goal('(g) auth vs (b) preset', 'preset-auth', 'preset', 0.85);
    if (process.env.GATEWAY_COMPARE_HEADERS) {
      const { median: value, low, high } = versus('preset', 'undici-headers');
      console.log(
        `(b) preset vs (f2), the same answer headers: ${value.toFixed(2)}x (rounds ${low.toFixed(2)}-${high.toFixed(2)}); (f2) vs (f): ${versus('undici-headers', 'undici').median.toFixed(2)}x`,
      );
    }
    const cpu = (name: string) => of(name).cpuPerRequest;
    if (cpu('preset') !== undefined && cpu('undici') !== undefined)
      console.log(
        `server CPU per request, (f) over (b): ${(cpu('undici')! / cpu('preset')!).toFixed(2)}x; (f) over (c): ${(cpu('undici')! / cpu('routing')!).toFixed(2)}x`,
      );
    console.log(
      `load average during the run: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')} on ${availableParallelism()} CPUs`,
    );
  } finally {
    for (const setup of setups) if (setup.child) await stopServer(setup.child);
    rmSync(logDir, { recursive: true, force: true });
  }
}
