/**
 * Cache `get` hits: the plugin on `memory` and on Redis versus the raw node-redis client on the
 * same server, sequential and concurrent. Goal: Redis through the plugin within 1.15x of raw at
 * p50 and p99. Run: `node --import tsx bench/cache.bench.ts` (Redis on 127.0.0.1:6379, or
 * BENCH_REDIS_URL). Rounds alternate the order of the contenders so drift hits both alike.
 */
import { createClient } from '@keyv/redis';
import { createApp, type App } from '../src/index.js';
import { createCachePlugin, type Cache } from '../src/plugins/cache/index.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SEQUENTIAL_OPS = Number(process.env.BENCH_SEQUENTIAL_OPS ?? 10_000);
const CONCURRENT_OPS = Number(process.env.BENCH_CONCURRENT_OPS ?? 40_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_OPS = 3_000;
const NAMESPACE = `bench-${process.pid}`;
const KEY = 'user:42';
const VALUE = {
  id: 42,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'editor'],
  updatedAt: '2025-01-01T00:00:00.000Z',
};

type Get = () => Promise<unknown>;
interface Result {
  samples: number[];
  seconds: number;
  ops: number;
}

async function sequential(get: Get, ops: number): Promise<Result> {
  const samples = new Array<number>(ops);
  const begun = performance.now();
  for (let index = 0; index < ops; index++) {
    const started = performance.now();
    await get();
    samples[index] = performance.now() - started;
  }
  return { samples, seconds: (performance.now() - begun) / 1000, ops };
}

async function concurrent(get: Get, ops: number, workers: number): Promise<Result> {
  const samples: number[] = [];
  let issued = 0;
  const begun = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (issued < ops) {
        issued++;
        const started = performance.now();
        await get();
        samples.push(performance.now() - started);
      }
    }),
  );
  return { samples, seconds: (performance.now() - begun) / 1000, ops };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function quantiles(result: Result): { p50: number; p99: number } {
  const sorted = [...result.samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Median over rounds of the per-round ratio to raw: contenders of one round ran back to back. */
function medianRatio(results: Result[], baseline: Result[], which: 'p50' | 'p99'): string {
  const ratios = results
    .map((result, round) => quantiles(result)[which] / quantiles(baseline[round])[which])
    .sort((a, b) => a - b);
  return ratios[Math.floor(ratios.length / 2)].toFixed(2);
}

function merge(results: Result[]) {
  const samples = results.flatMap((result) => result.samples).sort((a, b) => a - b);
  const ops = results.reduce((sum, result) => sum + result.ops, 0);
  const seconds = results.reduce((sum, result) => sum + result.seconds, 0);
  return {
    opsPerSecond: ops / seconds,
    p50: percentile(samples, 50) * 1000,
    p99: percentile(samples, 99) * 1000,
  };
}

async function startCache(
  options: Parameters<typeof createCachePlugin>[0],
): Promise<{ app: App; cache: Cache }> {
  const app = createApp({
    name: 'cache-bench',
    port: 0,
    host: '127.0.0.1',
    logger: { level: 'silent' },
    shutdown: { signals: false },
    plugins: [createCachePlugin(options)],
  });
  await app.start();
  return { app, cache: app.context.services.get('cache') };
}

async function main(): Promise<void> {
  const memory = await startCache({ provider: 'memory', namespace: NAMESPACE });
  const redis = await startCache({ provider: 'redis', url: REDIS_URL, namespace: NAMESPACE });
  if (!redis.cache.isAvailable()) throw new Error(`Redis is not reachable at ${REDIS_URL}`);
  const raw = createClient({ url: REDIS_URL });
  raw.on('error', () => undefined);
  await raw.connect();

  await memory.cache.set(KEY, VALUE, 0);
  await redis.cache.set(KEY, VALUE, 0);
  // The plugin stores Keyv's record under `<namespace>::<key>`; raw reads the very same bytes.
  const rawKey = `${NAMESPACE}::${KEY}`;
  if ((await raw.get(rawKey)) === null) throw new Error(`expected ${rawKey} to be set`);

  const contenders: [string, Get][] = [
    ['raw node-redis GET + JSON.parse', async () => JSON.parse((await raw.get(rawKey))!)],
    ['plugin on redis', () => redis.cache.get(KEY)],
    ['plugin on memory', () => memory.cache.get(KEY)],
  ];
  for (const [, get] of contenders) await sequential(get, WARMUP_OPS);

  const runs = new Map<string, { sequential: Result[]; concurrent: Result[] }>(
    contenders.map(([name]) => [name, { sequential: [], concurrent: [] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [name, get] of order)
      runs.get(name)!.sequential.push(await sequential(get, SEQUENTIAL_OPS));
    for (const [name, get] of order)
      runs.get(name)!.concurrent.push(await concurrent(get, CONCURRENT_OPS, CONCURRENCY));
  }

  const rows: Record<string, string | number>[] = [];
  for (const mode of ['sequential', 'concurrent'] as const) {
    const baseline = runs.get(contenders[0][0])![mode];
    for (const [name] of contenders) {
      const figures = merge(runs.get(name)![mode]);
      rows.push({
        mode: mode === 'concurrent' ? `concurrent x${CONCURRENCY}` : mode,
        contender: name,
        'ops/s': Math.round(figures.opsPerSecond),
        'p50 µs': Math.round(figures.p50),
        'p99 µs': Math.round(figures.p99),
        'p50 vs raw': medianRatio(runs.get(name)![mode], baseline, 'p50'),
        'p99 vs raw': medianRatio(runs.get(name)![mode], baseline, 'p99'),
      });
    }
  }
  console.log(
    'ratios: median over rounds of the round ratio to raw; ops/s and percentiles: all rounds pooled',
  );
  console.log(
    `cache get hits, ${ROUNDS} rounds of ${SEQUENTIAL_OPS} sequential and ${CONCURRENT_OPS} concurrent ops (Node ${process.version})`,
  );
  console.table(rows);

  await redis.cache.clear();
  await raw.quit();
  await Promise.all([memory.app.stop(), redis.app.stop()]);
}

await main();
