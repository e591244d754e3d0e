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

/**
 * One autocannon run; a warm-up first (`warmup` seconds, default 2) so the JIT has settled and
 * the connections are open. `headers` go on every request.
 */
export async function load(
  url: string,
  options: {
    connections?: number;
    duration?: number;
    headers?: Record<string, string>;
    warmup?: number;
  } = {},
): Promise<LoadResult> {
  const headers = options.headers ?? {};
  const warmup = options.warmup ?? 2;
  await autocannon({ url, headers, connections: options.connections ?? 100, duration: warmup });
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

/** What `compare` keeps of one target. */
export interface Compared {
  /** The round with the highest throughput. */
  best: LoadResult;
  /** Every round's result, in round order: `ratio` pairs them across targets. */
  rounds: LoadResult[];
  /** Median server CPU per request over the rounds. */
  cpuPerRequest?: number;
  errors: number;
}

/**
 * Measures each target in interleaved rounds and keeps, per target, every round, the best
 * round and the median server CPU per request. Rounds are short and many, and the targets
 * take turns within each, so a burst of load from elsewhere on the machine (a shared VM's
 * neighbours) hits a round's targets alike: compare them with `ratio`, per round.
 */
export async function compare(
  targets: { name: string; url: string; child?: ChildProcess; headers?: Record<string, string> }[],
  options: { rounds: number; duration: number },
): Promise<Map<string, Compared>> {
  const runs = new Map<string, { result: LoadResult; cpuPerRequest?: number }[]>(
    targets.map((target) => [target.name, []]),
  );
  for (let round = 0; round < options.rounds; round++) {
    // The first round warms the JIT; later ones only reopen the connections.
    const warmup = round === 0 ? 2 : 0.5;
    // Each round starts one target later, so no target always follows the same one (a target
    // measured right after the direct upstream run found the machine in another state).
    const order = targets.map((_, index) => targets[(index + round) % targets.length]);
    for (const target of order) {
      const before = cpuMs(target.child?.pid);
      const result = await load(target.url, {
        duration: options.duration,
        headers: target.headers,
        warmup,
      });
      const after = cpuMs(target.child?.pid);
      // Warm-up included in both the time and the count.
      const requests = result.requestsPerSecond * (options.duration + warmup);
      runs.get(target.name)!.push({
        result,
        cpuPerRequest:
          before === undefined || after === undefined
            ? undefined
            : ((after - before) * 1000) / requests,
      });
    }
  }
  const summary = new Map<string, Compared>();
  for (const [name, list] of runs) {
    const cpu = list.flatMap((run) => (run.cpuPerRequest === undefined ? [] : [run.cpuPerRequest]));
    summary.set(name, {
      best: list.reduce((top, run) =>
        run.result.requestsPerSecond > top.result.requestsPerSecond ? run : top,
      ).result,
      rounds: list.map((run) => run.result),
      cpuPerRequest: cpu.length ? median(cpu) : undefined,
      errors: list.reduce((sum, run) => sum + run.result.errors + run.result.non2xx, 0),
    });
  }
  return summary;
}

/**
 * The throughput of `a` over `b`: the median of the per-round ratios (each round measures both
 * within seconds of each other), with the lowest and highest, so the spread shows.
 */
export function ratio(a: Compared, b: Compared): { median: number; low: number; high: number } {
  const ratios = a.rounds.map(
    (round, index) => round.requestsPerSecond / b.rounds[index].requestsPerSecond,
  );
  return { median: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios) };
}
