import type { AddressInfo } from 'node:net';
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.get('/api/v1/hello', (_req, res) => {
  res.json({ message: 'Hello, world!', version: 'bench' });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address() as AddressInfo;
  console.log(`LISTENING http://127.0.0.1:${address.port}`);
});
