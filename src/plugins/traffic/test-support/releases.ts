import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A release's code: a server that answers every path (health included) with its VERSION and the
 * message its build wrote to `message.txt`, read from its own folder, so an answer proves which
 * files run.
 */
const SERVER = `import http from 'node:http';
import { readFileSync } from 'node:fs';
const message = readFileSync('message.txt', 'utf8').trim();
http
  .createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version: process.env.VERSION, message, cwd: process.cwd() }));
  })
  .listen(Number(process.env.PORT), process.env.HOST);
`;

/** Writes a release folder (`server.mjs`, `message.txt`) and answers its path. */
export async function buildRelease(directory: string, message: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  await writeFile(path.join(directory, 'server.mjs'), SERVER);
  await writeFile(path.join(directory, 'message.txt'), `${message}\n`);
  return directory;
}
