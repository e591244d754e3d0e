/**
 * A gateway in a process of its own, so a test can read the gateway's memory alone (the test
 * process also runs the client and the upstream, whose garbage would blur the figure).
 * Env: UPSTREAM_URL. Prints `LISTENING <url>`; on a stdin line `reset` it restarts the peak
 * tracking, on `peak` it prints `PEAK {"heap":..,"rss":..}` (growth in bytes since `reset`).
 */
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createApp } from '../../../index.js';
import { createRoutingPlugin } from '../index.js';

const app = createApp({
  name: 'gateway-process',
  port: 0,
  host: '127.0.0.1',
  logger: { level: 'warn', stdout: false },
  shutdown: { signals: false },
  plugins: [
    createRoutingPlugin({
      routes: [
        { match: '/files/*', target: process.env.UPSTREAM_URL!, stripPrefix: true, health: false },
      ],
    }),
  ],
});
await app.start();

let base = process.memoryUsage();
let peak = { heap: 0, rss: 0 };
setInterval(() => {
  const now = process.memoryUsage();
  // Buffers live outside the JS heap: a buffered body would show up in `external`.
  peak.heap = Math.max(peak.heap, now.heapUsed + now.external - base.heapUsed - base.external);
  peak.rss = Math.max(peak.rss, now.rss - base.rss);
}, 5).unref();

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'reset') {
    base = process.memoryUsage();
    peak = { heap: 0, rss: 0 };
    console.log('RESET');
  } else if (line === 'peak') {
    console.log(`PEAK ${JSON.stringify(peak)}`);
  }
});
process.stdin.on('end', () => void app.stop().then(() => process.exit(0)));
console.log(`LISTENING http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
