// The release the Docker engine tests run in containers: the machine's Node and this file, no
// dependencies. Its VERSION decides how it behaves:
//   "unhealthy-*" answers /health/ready with 503 (never becomes ready)
//   anything else a healthy service
// GET /api/v1/hello -> { version, hostname }; GET /api/v1/slow?ms=N waits N ms.
// SIGTERM stops accepting and exits once in-flight requests are done.
import http from 'node:http';
import os from 'node:os';

const version = process.env.VERSION ?? 'unknown';
const port = Number(process.env.PORT ?? 3000);

const send = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://release');
  if (url.pathname === '/health/ready' || url.pathname === '/health/live')
    return send(res, version.startsWith('unhealthy') ? 503 : 200, { status: 'ok', version });
  if (url.pathname === '/api/v1/hello')
    return send(res, 200, { message: 'Hello, world!', version, hostname: os.hostname() });
  if (url.pathname === '/api/v1/slow') {
    const ms = Math.min(Number(url.searchParams.get('ms') ?? 2000), 10_000);
    const timer = setTimeout(() => send(res, 200, { version, waited: ms }), ms);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  send(res, 404, { error: 'not found' });
});

server.keepAliveTimeout = 5_000;
server.listen(port, '0.0.0.0', () => console.log(`release ${version} listening on ${port}`));
console.error(`release ${version} writes to stderr too`);

process.on('SIGTERM', () => {
  console.log(`release ${version} stopping`);
  server.close(() => process.exit(0));
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  sweep.unref();
});
