import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { createApp, definePlugin } from '../../src/index.js';
import { createRateLimitPlugin } from '../../src/plugins/rate-limit/index.js';
import { createSecurityPlugin } from '../../src/plugins/security/index.js';
import { createStaticPlugin } from '../../src/plugins/static/index.js';

// EDGE=none: a hello route alone. EDGE=all: the same behind security headers, a memory rate
// limit (high enough never to refuse) and a static SPA from a release folder.
const root = await mkdtemp(path.join(os.tmpdir(), 'qwickapps-bench-static-'));
const asset = `console.log(${JSON.stringify('x'.repeat(4000))});`;
await mkdir(path.join(root, 'v1', 'assets'), { recursive: true });
await writeFile(
  path.join(root, 'v1', 'index.html'),
  '<!doctype html><title>bench</title><script type="module" src="/assets/app-B2x_k9Qa.js"></script>',
);
await writeFile(path.join(root, 'v1', 'assets', 'app-B2x_k9Qa.js'), asset);
await writeFile(path.join(root, 'v1', 'assets', 'app-B2x_k9Qa.js.br'), brotliCompressSync(asset));

const hello = definePlugin({
  name: 'hello',
  routes: [
    {
      method: 'get',
      path: '/api/v1/hello',
      handler: (_req, res) => void res.json({ message: 'Hello, world!' }),
    },
  ],
});
const edge =
  process.env.EDGE === 'all'
    ? [
        createSecurityPlugin(),
        createRateLimitPlugin({
          store: 'memory',
          default: { windowMs: 60_000, limit: 100_000_000 },
        }),
        createStaticPlugin({ root, spa: true }),
      ]
    : [];
const app = createApp({
  name: 'bench',
  port: 0,
  host: '127.0.0.1',
  logger: { level: 'info' },
  shutdown: { signals: false },
  plugins: [...edge, hello],
});
await app.start();
console.log(`LISTENING http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
