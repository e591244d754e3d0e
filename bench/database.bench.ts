/**
 * `node --import tsx bench/database.bench.ts`: the same queries through the database plugin's
 * drizzle and through a raw `pg` Pool, on the same PostgreSQL, same pool size and concurrency,
 * in one run. Goal: the plugin keeps at least 0.9x the raw throughput.
 *
 * The machine is shared, so variants run in short interleaved slices (order rotated each round)
 * and each ratio is the median of per-round ratios. A plain drizzle instance (no plugin) on an
 * identical pool shows what is drizzle's own cost and what is the plugin's.
 * Env: BENCH_DURATION (s per slice, default 1), BENCH_ROUNDS (default 8), BENCH_CONCURRENCY
 * (default 16), TEST_POSTGRES_URL.
 */
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { createApp } from '../src/index.js';
import { createDatabasePlugin } from '../src/plugins/database/index.js';
import { printTable } from './support.js';

const url = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const duration = Number(process.env.BENCH_DURATION ?? 1) * 1000;
const roundCount = Number(process.env.BENCH_ROUNDS ?? 8);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROWS = 1_000;
const MAX_QUERIES = 5_000_000; // a bound on each round whatever the machine
const schema = `bench_${randomBytes(4).toString('hex')}`;

interface Round {
  perSecond: number;
  p50: number;
  p99: number;
}

/** `concurrency` workers issue queries back to back for `duration` ms. */
async function measure(query: (n: number) => Promise<unknown>): Promise<Round> {
  const latencies: number[] = [];
  const deadline = performance.now() + duration;
  let issued = 0;
  const worker = async () => {
    while (performance.now() < deadline && issued < MAX_QUERIES) {
      const n = issued++;
      const began = performance.now();
      await query(n);
      latencies.push(performance.now() - began);
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 1000) /
    1000;
  return { perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}

const raw = new pg.Pool({
  connectionString: url,
  max: concurrency,
  options: `-c search_path=${schema}`,
});
await raw.query(`CREATE SCHEMA ${schema}`);
await raw.query('CREATE TABLE bench_rows (id integer PRIMARY KEY, name text NOT NULL)');
await raw.query(`INSERT INTO bench_rows SELECT g, 'row ' || g FROM generate_series(1, ${ROWS}) g`);

const app = createApp({
  name: 'bench',
  port: 0,
  host: '127.0.0.1',
  logger: { level: 'silent' },
  shutdown: { signals: false },
  plugins: [createDatabasePlugin({ url, schema, pool: { max: concurrency } })],
});
await app.start();
const db = app.context.services.get('database');
if (!db.is('postgresql')) throw new Error('expected PostgreSQL');
const rows = pgTable('bench_rows', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
});

const plain = drizzle({
  client: new pg.Pool({
    connectionString: url,
    max: concurrency,
    options: `-c search_path=${schema}`,
  }),
});
const id = (n: number) => (n % ROWS) + 1;
// Built once, run many times: drizzle's recommended hot path, a named server-side statement,
// compared with the raw pool using a named statement too.
const byIdPlugin = db.drizzle
  .select()
  .from(rows)
  .where(eq(rows.id, sql.placeholder('id')))
  .prepare('bench_row_by_id');
const rawById = (n: number) => raw.query('SELECT id, name FROM bench_rows WHERE id = $1', [id(n)]);
const rawByIdNamed = (n: number) =>
  raw.query({
    name: 'raw_row_by_id',
    text: 'SELECT id, name FROM bench_rows WHERE id = $1',
    values: [id(n)],
  });

type Query = (n: number) => Promise<unknown>;
const cases: { name: string; variants: Record<string, Query> }[] = [
  {
    name: 'SELECT 1',
    variants: {
      'raw pg Pool': () => raw.query('SELECT 1'),
      'plugin drizzle.execute': () => db.drizzle.execute(sql`SELECT 1`),
    },
  },
  {
    name: 'row by primary key, prepared statement',
    variants: {
      'raw pg Pool': rawByIdNamed,
      'plugin drizzle, prepared': (n) => byIdPlugin.execute({ id: id(n) }),
    },
  },
  {
    name: 'row by primary key, query built per call',
    variants: {
      'raw pg Pool': rawById,
      'plugin drizzle builder': async (n) =>
        db.drizzle
          .select()
          .from(rows)
          .where(eq(rows.id, id(n))),
      'plain drizzle builder (no plugin)': async (n) =>
        plain
          .select()
          .from(rows)
          .where(eq(rows.id, id(n))),
    },
  },
];

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const table: Record<string, string | number>[] = [];
const verdicts: string[] = [];
try {
  // Warm every pool so connection set-up is not measured.
  const warmers: (() => Promise<unknown>)[] = [
    () => raw.query('SELECT 1'),
    () => db.drizzle.execute(sql`SELECT 1`),
    () => plain.execute(sql`SELECT 1`),
  ];
  for (const run of warmers) {
    await Promise.all(Array.from({ length: concurrency }, run));
  }
  for (const entry of cases) {
    const names = Object.keys(entry.variants);
    const rounds: Record<string, Round[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round < roundCount; round++) {
      const order = names.map((_, index) => names[(index + round) % names.length]);
      for (const name of order) rounds[name].push(await measure(entry.variants[name]));
    }
    const base = rounds['raw pg Pool'];
    for (const name of names) {
      const list = rounds[name];
      const ratio = median(list.map((round, index) => round.perSecond / base[index].perSecond));
      table.push({
        case: `${entry.name}: ${name}`,
        'queries/s': Math.round(median(list.map((round) => round.perSecond))),
        'p50 ms': median(list.map((round) => round.p50)).toFixed(3),
        'p99 ms': median(list.map((round) => round.p99)).toFixed(3),
        'x raw': ratio.toFixed(2),
      });
      if (name.startsWith('plugin'))
        verdicts.push(
          `${entry.name}, ${name}: ${ratio.toFixed(2)}x raw (${ratio >= 0.9 ? 'meets' : 'below'} the 0.9x goal)`,
        );
    }
  }
  printTable(
    `database plugin vs raw pg Pool (Node ${process.version}, ${concurrency} concurrent, pool max ${concurrency}, ${roundCount} x ${duration / 1000} s slices, medians)`,
    table,
  );
  console.log(`\n${verdicts.join('\n')}`);
} finally {
  await app.stop();
  await plain.$client.end();
  await raw.query(`DROP SCHEMA ${schema} CASCADE`);
  await raw.end();
}
