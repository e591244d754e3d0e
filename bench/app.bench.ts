/**
 * `npm run bench`: GET /api/v1/hello on createApp with the four infrastructure plugins versus a
 * bare Express 5 app with the same handler, and /health/ready, in one run on loopback, each
 * server in its own process, measured in interleaved rounds (BENCH_ROUNDS, default 3, of
 * BENCH_DURATION seconds, default 8); the best round counts.
 * Goals: hello >= 0.9x bare Express; /health/ready >= bare Express hello.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { compare, printTable, sibling, startServer, stopServer } from './support.js';

const here = (file: string) => sibling(import.meta.url, file);
const duration = Number(process.env.BENCH_DURATION ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
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
  const base = results.get('bare')!.best.requestsPerSecond;
  const row = (label: string, name: string) => {
    const { best, cpuPerRequest, errors } = results.get(name)!;
    return {
      case: label,
      'req/s': Math.round(best.requestsPerSecond),
      'p50 ms': best.p50,
      'p99 ms': best.p99,
      'x bare': (best.requestsPerSecond / base).toFixed(2),
      'CPU us/req': cpuPerRequest === undefined ? '-' : cpuPerRequest.toFixed(1),
      errors,
    };
  };
  printTable(
    `createApp vs bare Express 5 (Node ${process.version}, autocannon -c 100, best of ${rounds} x ${duration} s)`,
    [
      row('bare Express 5: GET /api/v1/hello', 'bare'),
      row('createApp + 4 plugins: GET /api/v1/hello (request log to file)', 'hello'),
      row('createApp + 4 plugins: GET /health/ready', 'ready'),
    ],
  );
  const hello = results.get('hello')!.best.requestsPerSecond / base;
  const ready = results.get('ready')!.best.requestsPerSecond / base;
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
