import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceView } from '../src/plugins/index.js';
import { SERVICES, serviceAvailable } from '../test/support/services.js';
import { uniqueName } from '../test/support/databases.js';
import { freePorts } from '../test/support/ports.js';

/**
 * `npm start` twice on one PostgreSQL database (a fresh one), the second with another PORT and
 * nothing else changed: it joins the first, routes /api/v1/* to the same active slot without
 * starting slots of its own, and follows every promote and rollback made through either.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const hasPostgres = await serviceAvailable('postgres');

async function admin(statement: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: SERVICES.postgres.url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

interface Demo {
  child: ChildProcess;
  output: () => string;
  url: string;
}

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const cleanup of cleanups) await cleanup();
});

/** `npm start` from source with `env`; resolves once it says the demo is running. */
async function start(env: Record<string, string>): Promise<Demo> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'main.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "demo is running" within 90 s; output:\n${output}`)),
      90_000,
    );
    const check = () => {
      // The banner's last line: everything it says is out.
      if (!output.includes('demo is running') || !output.includes('CI deploys')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  return { child, output: () => output, url: `http://127.0.0.1:${env.PORT}` };
}

const PASSWORD = 'demo-replicas-password';

async function traffic(demo: Demo, method: 'GET' | 'POST', route: string, body?: unknown) {
  const response = await fetch(`${demo.url}/cpanel/api/traffic${route}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { services: ServiceView[] } & Record<string, unknown>,
  };
}

async function hello(demo: Demo): Promise<string> {
  const response = await fetch(`${demo.url}/api/v1/hello`);
  const body = (await response.json()) as { version?: string };
  return response.ok ? body.version! : `${response.status}`;
}

/** Milliseconds from `since` until `demo` answers /api/v1/hello with `version`. */
async function servesWithin(demo: Demo, version: string, since: number): Promise<number> {
  while ((await hello(demo)) !== version) {
    if (performance.now() - since > 5_000) throw new Error(`${demo.url} never served ${version}`);
  }
  return performance.now() - since;
}

async function until(predicate: () => Promise<boolean>, what: string, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!hasPostgres)('npm start twice on one PostgreSQL', () => {
  it('the second gateway (PORT=3111 style) joins the first and follows every switch', async () => {
    const database = uniqueName('demo_replicas');
    await admin(`CREATE DATABASE ${database}`);
    cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    const url = new URL(SERVICES.postgres.url);
    url.pathname = `/${database}`;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'demo-replicas-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const [firstPort, secondPort, servicePort] = await freePorts(3);
    const common = {
      DATABASE_URL: url.toString(),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      SERVICE_PORT: String(servicePort),
      ADMIN_PASSWORD: PASSWORD,
      // Unset: the gateways agree on them through the database.
      MANAGEMENT_TOKEN: '',
      AUTH_FORWARD_SECRET: '',
    };
    const first = await start({ ...common, PORT: String(firstPort) });
    expect(first.output()).toContain('this gateway drives the service slots');
    const second = await start({ ...common, PORT: String(secondPort) });
    expect(second.output()).toContain('this gateway follows the one that drives');

    // Same active slot through both; only the first started service processes.
    expect(await hello(second)).toBe('v1');
    const [a, b] = [
      (await traffic(first, 'GET', '')).body,
      (await traffic(second, 'GET', '')).body,
    ];
    expect(b.services[0].active).toEqual(a.services[0].active);
    const lines = (port: number, message: string) =>
      readFileSync(
        path.join(dataDir, 'logs', port === 3101 ? 'gateway.log' : `gateway-${port}.log`),
        'utf8',
      )
        .split('\n')
        .filter((line) => line.includes(`"${message}"`));
    const started = (port: number) => lines(port, 'process started').length;
    expect(started(secondPort)).toBe(0);
    // The slots trust the keys both gateways read from the database, not a random one of A's.
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const { rows } = await client.query<{ value: string }>(
      "SELECT value FROM demo_gateway_secrets WHERE name = 'management_token'",
    );
    await client.end();
    const slot = b.services[0].active!.target!;
    const config = await fetch(`${slot}/api/config`, {
      headers: { authorization: `Bearer ${rows[0].value}` },
    });
    expect(config.status).toBe(200);
    await config.body?.cancel();

    // Deploy through the second, promote through the first: both serve v2.
    const deployed = await traffic(second, 'POST', '/deploy', { service: 'api', version: 'v2' });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    let promotedAt = 0;
    await until(async () => {
      promotedAt = performance.now();
      const promoted = await traffic(first, 'POST', '/promote', { service: 'api' });
      return promoted.status === 200;
    }, 'v2 promotable');
    expect(await servesWithin(second, 'v2', promotedAt)).toBeLessThan(1_000);
    // Roll back through the second: the first follows.
    const rollbackAt = performance.now();
    const rolledBack = await traffic(second, 'POST', '/rollback', { service: 'api' });
    expect(rolledBack.status, JSON.stringify(rolledBack.body)).toBe(200);
    expect(await servesWithin(first, 'v1', rollbackAt)).toBeLessThan(1_000);
    expect(await hello(second)).toBe('v1');
    // And promote again through the second.
    const againAt = performance.now();
    expect((await traffic(second, 'POST', '/promote', { service: 'api' })).status).toBe(200);
    expect(await servesWithin(first, 'v2', againAt)).toBeLessThan(1_000);
    expect(await servesWithin(second, 'v2', againAt)).toBeLessThan(1_000);
    expect(started(secondPort)).toBe(0);
    // v1 and v2, each deployed once: the second gateway never deployed v1 as its own first run.
    // (Counted in the shared history, not in process starts: a driver that loses its lock for a
    // moment and takes it back may start its running release again, as designed.)
    const history = await fetch(`${first.url}/cpanel/api/traffic/history?service=api`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` },
    });
    const { transitions } = (await history.json()) as { transitions: { reason: string }[] };
    const deploys = transitions
      .map((transition) => transition.reason)
      .filter((reason) => /^deploy v\d+$/.test(reason))
      .sort();
    expect(deploys, lines(firstPort, 'process started').join('\n')).toEqual([
      'deploy v1',
      'deploy v2',
    ]);
  }, 240_000);
});
