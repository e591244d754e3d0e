/**
 * `tsc -p tsconfig.build.json && node dist/bench/edge-plugins.bench.js`: what the security headers and a memory rate
 * limit add to an Express route, and how fast the static plugin answers a hashed asset (plain and
 * precompressed) and the SPA fallback. One run on loopback, autocannon -c 100.
 */
import autocannon from 'autocannon';
import { printTable, sibling, startServer, stopServer } from './support.js';

const here = (file: string) => sibling(import.meta.url, file);
const duration = Number(process.env.BENCH_DURATION ?? 5);

async function measure(url: string, headers: Record<string, string> = {}) {
  await autocannon({ url, headers, connections: 100, duration: 2 });
  const result = await autocannon({ url, headers, connections: 100, duration });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bad: result.errors + result.timeouts + result.non2xx,
  };
}

const plain = await startServer(here('./servers/edge-app.ts'), { EDGE: 'none' });
const baseline = await measure(`${plain.url}/api/v1/hello`);
await stopServer(plain.child);

const edge = await startServer(here('./servers/edge-app.ts'), { EDGE: 'all' });
const cases = [
  ['hello, security + rate limit', await measure(`${edge.url}/api/v1/hello`)],
  ['static: hashed asset (4 kB)', await measure(`${edge.url}/assets/app-B2x_k9Qa.js`)],
  [
    'static: hashed asset, br variant',
    await measure(`${edge.url}/assets/app-B2x_k9Qa.js`, { 'accept-encoding': 'br' }),
  ],
  [
    'static: SPA fallback /users/42',
    await measure(`${edge.url}/users/42`, { accept: 'text/html' }),
  ],
] as const;
await stopServer(edge.child);

const row = (name: string, result: typeof baseline) => ({
  case: name,
  'req/s': Math.round(result.rps),
  'p50 ms': result.p50,
  'p99 ms': result.p99,
  'x hello': (result.rps / baseline.rps).toFixed(2),
  errors: result.bad,
});
printTable(`Edge plugins (Node ${process.version}, autocannon -c 100, ${duration} s each)`, [
  row('hello, no edge plugins', baseline),
  ...cases.map(([name, result]) => row(name, result)),
]);
