import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/**
 * A bench script next to `from` (an `import.meta.url`), compiled or not as `from` is: the npm
 * scripts run the compiled JavaScript (what users run), `node --import tsx bench/x.bench.ts` the source.
 */
export function sibling(from: string, file: string): string {
  const self = fileURLToPath(from);
  return fileURLToPath(new URL(file.replace(/\.ts$/, path.extname(self)), from));
}

/** Starts a bench server in its own process (so it never shares an event loop with the load). */
export async function startServer(
  script: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    script.endsWith('.ts') ? ['--import', 'tsx', script] : [script],
    {
      env: { ...process.env, NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const match = /^LISTENING (\S+)/.exec(line);
    if (match) {
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout!.resume();
      return { url: match[1], child };
    }
  }
  throw new Error(`${script} exited before listening`);
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** One autocannon run; a short warm-up first so the JIT has settled. `headers` go on every request. */
export async function load(
  url: string,
  options: { connections?: number; duration?: number; headers?: Record<string, string> } = {},
): Promise<LoadResult> {
  const headers = options.headers ?? {};
  await autocannon({ url, headers, connections: options.connections ?? 100, duration: 2 });
  const result = await autocannon({
    url,
    headers,
    connections: options.connections ?? 100,
    duration: options.duration ?? 10,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => String(row[column]).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, index) => cell.padEnd(widths[index])).join(' | ')} |`;
  console.log(line(columns));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(columns.map((column) => String(row[column]))));
}

/** CPU time (user + system) a process has used, in milliseconds; Linux /proc, else undefined. */
export function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return undefined;
  }
}

export function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * Measures each target in interleaved rounds (so a burst of load from elsewhere hits all alike)
 * and keeps, per target, the best round's throughput and the median server CPU per request.
 * A target's `headers` (a bearer token) go on each of its requests.
 */
export async function compare(
  targets: { name: string; url: string; child?: ChildProcess; headers?: Record<string, string> }[],
  options: { rounds: number; duration: number },
): Promise<Map<string, { best: LoadResult; cpuPerRequest?: number; errors: number }>> {
  const runs = new Map<string, { result: LoadResult; cpuPerRequest?: number }[]>(
    targets.map((target) => [target.name, []]),
  );
  for (let round = 0; round < options.rounds; round++) {
    for (const target of targets) {
      const before = cpuMs(target.child?.pid);
      const result = await load(target.url, {
        duration: options.duration,
        headers: target.headers,
      });
      const after = cpuMs(target.child?.pid);
      // Warm-up included in both the time and the count.
      const requests = result.requestsPerSecond * (options.duration + 2);
      runs.get(target.name)!.push({
        result,
        cpuPerRequest:
          before === undefined || after === undefined
            ? undefined
            : ((after - before) * 1000) / requests,
      });
    }
  }
  const summary = new Map<string, { best: LoadResult; cpuPerRequest?: number; errors: number }>();
  for (const [name, list] of runs) {
    const cpu = list.flatMap((run) => (run.cpuPerRequest === undefined ? [] : [run.cpuPerRequest]));
    summary.set(name, {
      best: list.reduce((top, run) =>
        run.result.requestsPerSecond > top.result.requestsPerSecond ? run : top,
      ).result,
      cpuPerRequest: cpu.length ? median(cpu) : undefined,
      errors: list.reduce((sum, run) => sum + run.result.errors + run.result.non2xx, 0),
    });
  }
  return summary;
}
