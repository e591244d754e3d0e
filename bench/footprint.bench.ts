/**
 * `npm run bench:footprint`: the resident memory of the demo gateway as `npm start` runs it, once
 * it has served its first requests and idled. Goal: under 150 MiB. The service slots are separate
 * processes and not counted: the gateway is what must stay up.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const IDLE_MS = 15_000;
const GOAL_MIB = 150;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(repoRoot, 'dist', 'demo', 'main.js');

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'));
  return Number(/\d+/.exec(line ?? '')?.[0] ?? Number.NaN) / 1024;
}

async function waitForHello(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${base}/api/v1/hello`).catch(() => undefined);
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the demo API did not answer through the gateway in time');
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'footprint-'));
const port = 3301;
const gateway = spawn(process.execPath, [main], {
  env: {
    ...process.env,
    PORT: String(port),
    SERVICE_PORT: '3300',
    DATA_DIR: dataDir,
    ADMIN_PASSWORD: 'footprint-bench-password',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  const base = `http://127.0.0.1:${port}`;
  await waitForHello(base, 60_000);
  for (const page of ['/', '/api/v1/hello', '/cpanel', '/health/ready'])
    for (let round = 0; round < 50; round++) await (await fetch(`${base}${page}`)).arrayBuffer();
  const served = rssMiB(gateway.pid!);
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const idle = rssMiB(gateway.pid!);
  console.log(
    `demo gateway RSS: ${served.toFixed(1)} MiB after 200 requests, ${idle.toFixed(1)} MiB after ${IDLE_MS / 1000} s idle (goal < ${GOAL_MIB} MiB)`,
  );
  if (idle >= GOAL_MIB) process.exitCode = 1;
} finally {
  gateway.kill('SIGTERM');
  await once(gateway, 'exit');
  rmSync(dataDir, { recursive: true, force: true });
}
