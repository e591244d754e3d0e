import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import type { ServiceView } from '../index.js';

const SCRIPT = fileURLToPath(new URL('./replica.ts', import.meta.url));

/** A gateway replica running in a child process (its own process group, releases included). */
export interface Replica {
  name: string;
  url: string;
  child: ChildProcess;
  /** Every log line it wrote, parsed. */
  logs: Record<string, unknown>[];
  /** SIGTERM: the gateway stops as in production (releases it runs stop with it). */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group: the machine or container is gone, releases too. */
  kill(): Promise<void>;
}

export interface ReplicaSetup {
  databaseUrl: string;
  table: string;
  slotPorts: number[];
  autoPromote?: boolean;
  extraEnv?: Record<string, string>;
}

export async function startReplica(name: string, setup: ReplicaSetup): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: {
      ...process.env,
      DATABASE_URL: setup.databaseUrl,
      TRAFFIC_TABLE: setup.table,
      SLOT_PORTS: setup.slotPorts.join(','),
      AUTO_PROMOTE: setup.autoPromote ? '1' : '0',
      ...setup.extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs: Record<string, unknown>[] = [];
  let rest = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start:\n${dump(logs)}`)),
      30_000,
    );
    const check = () => {
      const ready = logs.find((line) => line.msg === 'replica ready');
      if (!ready) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve(ready.url as string);
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${dump(logs)}`));
    });
  });
  return {
    name,
    url,
    child,
    logs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
}

export function dump(logs: Record<string, unknown>[]): string {
  return logs
    .slice(-60)
    .map((line) => JSON.stringify(line))
    .join('\n');
}

/** Calls a replica's traffic API. */
export async function command(
  replica: Replica,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> & ServiceView }> {
  const response = await fetch(`${replica.url}/cpanel/api/traffic${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & ServiceView,
  };
}

export async function apiView(replica: Replica): Promise<ServiceView> {
  const { body } = await command(replica, 'GET', '?service=api');
  return (body as unknown as { services: ServiceView[] }).services[0];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** `GET /api/v1/hello` through a replica: the version that answered, or what went wrong. */
export function hello(replica: Replica): Promise<{ version?: string; failure?: string }> {
  return new Promise((resolve) => {
    const req = http.get(`${replica.url}/api/v1/hello`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) resolve({ failure: `${res.statusCode} ${body.slice(0, 200)}` });
        else resolve({ version: (JSON.parse(body) as { version: string }).version });
      });
      res.on('error', (error) => resolve({ failure: error.message }));
    });
    req.on('error', (error) => resolve({ failure: error.message }));
  });
}

/** Resolves with the milliseconds until `replica` answers with `version`, polling tightly. */
export async function timeUntilServes(
  replica: Replica,
  version: string,
  since: number,
  timeout = 5_000,
): Promise<number> {
  for (;;) {
    const answer = await hello(replica);
    if (answer.version === version) return performance.now() - since;
    if (performance.now() - since > timeout)
      throw new Error(`${replica.name} still answers ${JSON.stringify(answer)}, not ${version}`);
  }
}

/** Polls until `predicate` holds for the replica's view of the api service. */
export async function waitForView(
  replica: Replica,
  predicate: (view: ServiceView) => boolean,
  what: string,
  timeout = 15_000,
): Promise<ServiceView> {
  const deadline = Date.now() + timeout;
  let view = await apiView(replica);
  while (!predicate(view)) {
    if (Date.now() > deadline)
      throw new Error(
        `${replica.name}: ${what} not reached; slots ${JSON.stringify(view.slots?.map((slot) => `${slot.id}:${slot.state}:${slot.version}`))}\n${dump(replica.logs)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
    view = await apiView(replica);
  }
  return view;
}

export function closeAgent(): void {
  agent.destroy();
}
