import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import { sql } from 'drizzle-orm';
import {
  TARGETS,
  removeTempDirs,
  startApp,
  uniqueName,
  type Sandbox,
} from './test-support/targets.js';

afterAll(removeTempDirs);
const apps: App[] = [];
const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
});

async function open(provider: string) {
  const target = TARGETS.find((candidate) => candidate.provider === provider)!;
  const sandbox = await target.sandbox();
  sandboxes.push(sandbox);
  const started = await startApp(sandbox.options);
  apps.push(started.app);
  return started;
}

/** Resolves with the next value `take` is called with. */
function nextOf<T>(): { take(value: T): void; next: Promise<T> } {
  let take!: (value: T) => void;
  const next = new Promise<T>((resolve) => (take = resolve));
  return { take: (value) => take(value), next };
}

const providers = TARGETS.filter((target) => target.available).map((target) => target.provider);

describe.each(providers)('notifications on %s', (provider) => {
  it(
    provider === 'pglite' || provider === 'postgres'
      ? 'delivers a committed NOTIFY and nothing of a rolled-back one'
      : 'has no listen (the dialect has no notifications)',
    async () => {
      const { db } = await open(provider);
      if (provider !== 'pglite' && provider !== 'postgres') {
        expect(db.listen).toBeUndefined();
        return;
      }
      const channel = uniqueName('ch');
      const payloads: string[] = [];
      const first = nextOf<string>();
      const stop = await db.listen!(channel, {
        onNotify: (payload) => {
          payloads.push(payload);
          first.take(payload);
        },
      });
      await db
        .transaction(async (tx) => {
          await tx.run(sql`SELECT pg_notify(${channel}, 'rolled back')`);
          throw new Error('roll back');
        })
        .catch(() => undefined);
      await db.transaction((tx) => tx.run(sql`SELECT pg_notify(${channel}, 'committed')`));
      expect(await first.next).toBe('committed');
      await stop();
      await db.run(sql`SELECT pg_notify(${channel}, 'after stop')`);
      await db.rows(sql`SELECT 1`);
      expect(payloads).toEqual(['committed']);
      await expect(db.listen!('Not-A-Channel', { onNotify: () => undefined })).rejects.toThrow(
        /a-z, 0-9 and _/,
      );
    },
  );
});

describe.runIf(providers.includes('postgres'))('a lost notification connection', () => {
  it('reconnects, says so, and delivers again', async () => {
    const { db } = await open('postgres');
    const channel = uniqueName('ch');
    const reconnected = nextOf<void>();
    const delivered = nextOf<string>();
    const stop = await db.listen!(channel, {
      onNotify: (payload) => delivered.take(payload),
      onReconnect: () => reconnected.take(),
    });
    // The server ends the listening backend, as a failover or an idle-connection reaper would.
    await db.run(
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = ${`LISTEN "${channel}"`}`,
    );
    await reconnected.next;
    await db.run(sql`SELECT pg_notify(${channel}, 'again')`);
    expect(await delivered.next).toBe('again');
    await stop();
  }, 15_000);
});
