/**
 * `npm run bench`: GET /api/v1/hello on createApp with the four infrastructure plugins versus a
 * bare Express 5 app with the same handler, and /health/ready, in one run on loopback.
 * Goals: hello >= 0.9x bare Express; /health/ready >= bare Express hello.
 */
import { fileURLToPath } from 'node:url';
import { load, printTable, startServer, stopServer } from './support.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 10);

const bare = await startServer(here('./servers/bare-express.ts'));
const bareHello = await load(`${bare.url}/api/v1/hello`, { duration });
await stopServer(bare.child);

const qwick = await startServer(here('./servers/qwick-app.ts'));
const qwickHello = await load(`${qwick.url}/api/v1/hello`, { duration });
const qwickReady = await load(`${qwick.url}/health/ready`, { duration });
await stopServer(qwick.child);

const ratio = (value: number) => (value / bareHello.requestsPerSecond).toFixed(2);
printTable(`createApp vs bare Express 5 (Node ${process.version}, autocannon -c 100, ${duration} s each)`, [
  { case: 'bare Express 5: GET /api/v1/hello', 'req/s': Math.round(bareHello.requestsPerSecond), 'p50 ms': bareHello.p50, 'p99 ms': bareHello.p99, 'x bare': '1.00', errors: bareHello.errors + bareHello.non2xx },
  { case: 'createApp + 4 plugins: GET /api/v1/hello', 'req/s': Math.round(qwickHello.requestsPerSecond), 'p50 ms': qwickHello.p50, 'p99 ms': qwickHello.p99, 'x bare': ratio(qwickHello.requestsPerSecond), errors: qwickHello.errors + qwickHello.non2xx },
  { case: 'createApp + 4 plugins: GET /health/ready', 'req/s': Math.round(qwickReady.requestsPerSecond), 'p50 ms': qwickReady.p50, 'p99 ms': qwickReady.p99, 'x bare': ratio(qwickReady.requestsPerSecond), errors: qwickReady.errors + qwickReady.non2xx },
]);
const helloOk = qwickHello.requestsPerSecond >= 0.9 * bareHello.requestsPerSecond;
const readyOk = qwickReady.requestsPerSecond >= bareHello.requestsPerSecond;
console.log(`\nhello >= 0.9x bare: ${helloOk ? 'yes' : 'NO'}; /health/ready >= bare hello: ${readyOk ? 'yes' : 'NO'}`);
