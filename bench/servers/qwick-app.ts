import type { AddressInfo } from 'node:net';
import { createApp, definePlugin } from '../../src/index.js';
import {
  createConfigPlugin,
  createDiagnosticsPlugin,
  createHealthPlugin,
  createLogsPlugin,
} from '../../src/plugins/index.js';

// The same handler as the bare Express server, behind the four infrastructure plugins and the
// kernel's request logging: one line per request at info, to the NDJSON file the logs plugin
// reads (LOG_FILE), as a product runs it.
const hello = definePlugin({
  name: 'hello',
  routes: [
    {
      method: 'get',
      path: '/api/v1/hello',
      handler: (_req, res) => void res.json({ message: 'Hello, world!', version: 'bench' }),
    },
  ],
});
const app = createApp({
  name: 'bench',
  port: 0,
  host: '127.0.0.1',
  logger: {
    level: 'info',
    stdout: false,
    file: {
      path: process.env.LOG_FILE ?? '.data/bench/app.log',
      maxBytes: 50 * 1024 * 1024,
      maxFiles: 2,
    },
  },
  shutdown: { signals: false },
  plugins: [
    createHealthPlugin(),
    createDiagnosticsPlugin(),
    createConfigPlugin(),
    createLogsPlugin(),
    hello,
  ],
});
await app.start();
console.log(`LISTENING http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
