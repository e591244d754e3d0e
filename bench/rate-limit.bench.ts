/**
 * `npm run bench:rate-limit`: the CPU one rate-limit decision costs, in isolation (no sockets):
 * the edge hook with the gateway's default rule in memory, one client address, a limit high
 * enough never to refuse.
 * Goal: at most about 2 µs per request.
 */
import http from 'node:http';
import net from 'node:net';
import pino from 'pino';
import * as library from 'express-rate-limit';
import { buildRateLimiter } from '../src/plugins/rate-limit/limiter.js';
import { WindowCounter } from '../src/plugins/rate-limit/window-counter.js';
import { rateLimitOptionsSchema } from '../src/plugins/rate-limit/options.js';

const ROUNDS = 5;
const PER_ROUND = 200_000;

function request(): { req: http.IncomingMessage; res: http.ServerResponse } {
  const socket = new net.Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: '203.0.113.7' });
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/api/v1/hello';
  const res = new http.ServerResponse(req);
  return { req, res };
}

const config = rateLimitOptionsSchema.parse({
  default: { windowMs: 60_000, limit: 1_000_000_000 },
});
const { hook } = buildRateLimiter(library, config, {
  logger: pino({ level: 'silent' }),
  storeFor: (_rule, windowMs) => new WindowCounter(windowMs),
  clientAddress: (req) => req.socket.remoteAddress ?? '',
});
const pairs = Array.from({ length: 1_000 }, request);

const results: number[] = [];
for (let round = 0; round < ROUNDS + 1; round++) {
  await new Promise((resolve) => setImmediate(resolve));
  const started = process.cpuUsage();
  for (let index = 0; index < PER_ROUND; index++) {
    const { req, res } = pairs[index % pairs.length];
    // The edge hook as the pipeline calls it for a proxied request: true would mean refused.
    const answered = hook.run({
      req,
      res,
      lane: 'proxy',
      upgrade: false,
      path: '/api/v1/hello',
      route: { id: 'api', plane: 'data' },
      requestId: 'bench',
      defaultHeaders: [],
      defaultDataHeaders: [],
      headers: [],
      upstreamHeaders: [],
    });
    if (answered !== false)
      throw new Error(
        'refused or asynchronous: the bench limit is meant never to refuse, in memory',
      );
  }
  const used = process.cpuUsage(started);
  if (round > 0) results.push((used.user + used.system) / PER_ROUND);
}
results.sort((a, b) => a - b);
console.log(
  `rate-limit check (memory, default rule): median ${results[Math.floor(results.length / 2)].toFixed(2)} µs CPU per request (${ROUNDS} rounds of ${PER_ROUND}; goal <= 2 µs)`,
);
process.exit(0);
