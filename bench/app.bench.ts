/**
 * `npm run bench`: GET /api/v1/hello on createApp with the four infrastructure plugins versus a
 * bare Express 5 app with the same handler, and /health/ready, in one run on loopback, each
 * server in its own process, measured in interleaved rounds (BENCH_ROUNDS, default 8, of
 * BENCH_DURATION seconds, default 4); a ratio is the median of the per-round ratios.
 * Goals: hello >= 0.9x bare Express; /health/ready >= bare Express hello.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { compare, median, printTable, ratio, sibling, startServer, stopServer } from './support.js';

const here = (file: string) => sibling(import.meta.url, file);
const duration = Number(process.env.BENCH_DURATION ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const logDir = mkdtempSync(path.join(tmpdir(), 'app-bench-'));

const bare = await startServer(here('./servers/bare-express.ts'));
const qwick = await startServer(here('./servers/qwick-app.ts'), {
  LOG_FILE: path.join(logDir, 'app.log'),
});
try {
  const results = await compare(
    [
      { name: 'bare', url: `${bare.url}/api/v1/hello`, child: bare.child },
      { name: 'hello', url: `${qwick.url}/api/v1/hello`, child: qwick.child },
      { name: 'ready', url: `${qwick.url}/health/ready`, child: qwick.child },
    ],
    { rounds, duration },
  );
  const bareResult = results.get('bare')!;
  const row = (label: string, name: string) => {
    const { rounds: each, cpuPerRequest, errors } = results.get(name)!;
    const middle = each[Math.floor(each.length / 2)];
    return {
      case: label,
      'median req/s': Math.round(median(each.map((round) => round.requestsPerSecond))),
      'p50 ms': middle.p50,
      'p99 ms': middle.p99,
      'x bare': ratio(results.get(name)!, bareResult).median.toFixed(2),
      'CPU us/req': cpuPerRequest === undefined ? '-' : cpuPerRequest.toFixed(1),
      errors,
    };
  };
  printTable(
    `createApp vs bare Express 5 (Node ${process.version}, autocannon -c 100, ${rounds} interleaved rounds x ${duration} s; ratios are medians of per-round ratios)`,
    [
      row('bare Express 5: GET /api/v1/hello', 'bare'),
      row('createApp + 4 plugins: GET /api/v1/hello (request log to file)', 'hello'),
      row('createApp + 4 plugins: GET /health/ready', 'ready'),
    ],
  );
  const hello = ratio(results.get('hello')!, bareResult).median;
  const ready = ratio(results.get('ready')!, bareResult).median;
  console.log(
    `\nhello >= 0.9x bare: ${hello.toFixed(2)}x ${hello >= 0.9 ? 'yes' : 'NO'}; /health/ready >= bare hello: ${ready.toFixed(2)}x ${ready >= 1 ? 'yes' : 'NO'}`,
  );
  console.log(
    `load average during the run: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} on ${availableParallelism()} CPUs`,
  );
} finally {
  await stopServer(bare.child);
  await stopServer(qwick.child);
  rmSync(logDir, { recursive: true, force: true });
}
