/**
 * `npm run bench:instructions`: machine instructions a server spends per proxied request,
 * counted by valgrind's callgrind, for the gateway bench's setups (GATEWAY_BENCH_ROLE, see
 * gateway.bench.ts): (f) `undici`, (c) `routing`, (b) `preset` by default, or those named in
 * INSTRUCTIONS_ROLES (comma-separated). An instruction count does not depend on what else the
 * machine runs, so two versions of the code compare on a shared, noisy VM where requests per
 * second swing by half.
 *
 * Each role runs under callgrind with instrumentation off (start-up runs at valgrind's fastest);
 * INSTRUCTIONS_WARMUP requests (default 60 000: after 20 000, one build still read 10 000
 * instructions a request more, its code not yet optimised) settle the JIT, then instructions are
 * counted for INSTRUCTIONS_REQUESTS (default 5 000), sent by autocannon from this process over
 * INSTRUCTIONS_CONNECTIONS keep-alive connections (default 20); then as long again with no
 * requests, whose count is taken off (timers: valgrind slows the server down many times, so
 * what they do per second weighs that much more per request), and the rest is divided by the
 * requests. The table shows it with and without V8's optimising compiler and the garbage
 * collector's major work, which come in bursts long after the warm-up: the second figure is the
 * one that compares two versions of the code. INSTRUCTIONS_SCRIPT runs another build of gateway.bench.js (a copy of
 * `dist` made before a change). The upstream runs outside valgrind. Needs `valgrind` and
 * `callgrind_control` on the PATH; a role takes several minutes.
 * INSTRUCTIONS_KEEP=1 keeps the callgrind files (callgrind_annotate names the native and V8
 * builtin frames; JIT-compiled JavaScript shows as unnamed code).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { printTable, startServer, stopServer } from './support.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const gatewayBench = process.env.INSTRUCTIONS_SCRIPT ?? path.join(here, 'gateway.bench.js');
const roles = (process.env.INSTRUCTIONS_ROLES ?? 'undici,routing,preset').split(',');
const warmup = Number(process.env.INSTRUCTIONS_WARMUP ?? 60_000);
const requests = Number(process.env.INSTRUCTIONS_REQUESTS ?? 5_000);
const connections = Number(process.env.INSTRUCTIONS_CONNECTIONS ?? 20);
const keep = process.env.INSTRUCTIONS_KEEP === '1';

/** Starts a role under callgrind, instrumentation off until switched on. */
async function startUnderCallgrind(
  role: string,
  outFile: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${outFile}`,
      process.execPath,
      gatewayBench,
    ],
    {
      env: { ...process.env, NODE_ENV: 'production', GATEWAY_BENCH_ROLE: role, ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = /^LISTENING (\S+)/.exec(line);
    if (match) {
      child.stdout!.resume();
      return { url: match[1], child };
    }
  }
  throw new Error(`${role} exited under valgrind before listening`);
}

async function load(url: string, amount: number): Promise<number> {
  // A server under valgrind answers slowly: no request may time out and be sent again.
  const result = await autocannon({ url, connections, amount, timeout: 120 });
  return result.requests.total;
}

/** The instructions counted in a callgrind dump (its `totals:` line; 0 for a file with none). */
function totalInstructions(file: string): number {
  const match = /^(?:totals|summary): (\d+)/m.exec(readFileSync(file, 'utf8'));
  return match ? Number(match[1]) : 0;
}

/**
 * V8's optimising compiler (TurboFan) and its garbage collector's major marking, sweeping and
 * compaction: both run in bursts (a recompilation, a major collection) whose timing is V8's, not
 * the request's, and two runs of the same code differ by a third in them alone.
 */
const EPISODIC =
  /v8::internal::compiler::|OptimizedCompilationJob|TurbofanCompilationJob|ConcurrentMarking|MarkingVisitor|MarkCompact|Sweeper|IncrementalMarking|Evacuat|MemoryChunk|ActiveSystemPages|RememberedSet|RegisterAllocator|LinearScanAllocator|InstructionSelector|LiveRange/;

/** The instructions of a dump spent in `EPISODIC` work. */
async function episodicInstructions(file: string): Promise<number> {
  const { stdout } = await run('callgrind_annotate', ['--threshold=100', file], {
    maxBuffer: 256 * 1024 * 1024,
  });
  let sum = 0;
  for (const line of stdout.split('\n')) {
    const match = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (match && EPISODIC.test(match[2])) sum += Number(match[1].replaceAll(',', ''));
  }
  return sum;
}

/** Dumps the counts so far into `file` (callgrind numbers its dumps) and reads them back. */
async function dump(pid: string, file: string): Promise<{ total: number; episodic: number }> {
  await run('callgrind_control', ['-d', pid]);
  // callgrind_control returns once the request is taken; the file is complete a little later.
  for (let attempt = 0; attempt < 600; attempt++) {
    const total = existsSync(file) ? totalInstructions(file) : 0;
    if (total > 0) return { total, episodic: await episodicInstructions(file) };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`callgrind wrote no counts to ${file}`);
}

const dir = mkdtempSync(path.join(tmpdir(), 'instructions-'));
const logDir = mkdtempSync(path.join(tmpdir(), 'instructions-logs-'));
const upstream = await startServer(gatewayBench, { GATEWAY_BENCH_ROLE: 'upstream' });
const rows: Record<string, string | number>[] = [];
try {
  for (const role of roles) {
    const outFile = path.join(dir, `${role}.callgrind`);
    const server = await startUnderCallgrind(role, outFile, {
      UPSTREAM_URL: upstream.url,
      LOG_DIR: logDir,
    });
    try {
      await load(`${server.url}/`, warmup);
      const pid = String(server.child.pid);
      await run('callgrind_control', ['-i', 'on', pid]);
      const started = performance.now();
      const sent = await load(`${server.url}/`, requests);
      const elapsed = performance.now() - started;
      const busy = await dump(pid, `${outFile}.1`);
      // As long again with no requests: what timers cost meanwhile, many times more than in a
      // real run since valgrind slows the server down, is taken off the loaded window's count.
      await new Promise((resolve) => setTimeout(resolve, elapsed));
      const idle = await dump(pid, `${outFile}.2`);
      await run('callgrind_control', ['-i', 'off', pid]);
      rows.push({
        setup: role,
        requests: sent,
        'instructions/request': Math.round((busy.total - idle.total) / sent),
        'without JIT compiler and GC': Math.round(
          (busy.total - busy.episodic - (idle.total - idle.episodic)) / sent,
        ),
        'idle share': `${Math.round((100 * idle.total) / busy.total)}%`,
      });
    } finally {
      server.child.kill('SIGKILL');
      await once(server.child, 'exit').catch(() => undefined);
    }
  }
  printTable(
    `Instructions per request under callgrind (Node ${process.version}, ${warmup} warm-up, ${requests} counted, ${connections} connections)`,
    rows,
  );
  if (keep) console.log(`callgrind files kept in ${dir}`);
} finally {
  await stopServer(upstream.child);
  if (!keep) rmSync(dir, { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
}
