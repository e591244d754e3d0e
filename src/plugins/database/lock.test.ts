import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import { advisoryKey } from './providers/lock.js';
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

const postgres = TARGETS.find((target) => target.provider === 'postgres')!;

/** Counts the calls of each handler, and resolves when the next one comes. */
function holder() {
  const events: string[] = [];
  let wake: () => void = () => undefined;
  const next = () => new Promise<void>((resolve) => (wake = resolve));
  return {
    events,
    next,
    handlers: {
      onAcquired: () => (events.push('acquired'), wake()),
      onLost: () => (events.push('lost'), wake()),
    },
  };
}

describe.skipIf(!postgres.available)('holdLock on postgres', () => {
  it('is held by one instance at a time, passes on when the holder stops or its session dies, and is undefined elsewhere', async () => {
    const sandbox = await postgres.sandbox();
    sandboxes.push(sandbox);
    const [first, second] = [await startApp(sandbox.options), await startApp(sandbox.options)];
    apps.push(first.app, second.app);
    const name = uniqueName('lock');
    const a = holder();
    const b = holder();
    const stopA = await first.db.holdLock!(name, a.handlers, 100);
    expect(a.events).toEqual(['acquired']);
    const bAcquired = b.next();
    const stopB = await second.db.holdLock!(name, b.handlers, 100);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(b.events).toEqual([]);

    // The holder stops: the other takes it within an interval or two.
    await stopA();
    await bAcquired;
    expect(b.events).toEqual(['acquired']);

    // The holder's session is ended by the server: it is told, and the lock passes on (to
    // whichever instance asks first: the one that lost it competes like any other).
    const c = holder();
    const cAcquired = c.next();
    const stopC = await first.db.holdLock!(name, c.handlers, 100);
    const bLost = b.next();
    const key = BigInt(advisoryKey(`lock:${name}`));
    const [classid, objid] = [(key >> 32n) & 0xffffffffn, key & 0xffffffffn];
    await first.db.run(
      sql`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ${String(classid)}::oid AND objid = ${String(objid)}::oid`,
    );
    await bLost;
    expect(b.events).toEqual(['acquired', 'lost']);
    await Promise.race([cAcquired, b.next()]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const holding = (events: string[]) =>
      events.filter((event) => event === 'acquired').length -
      events.filter((event) => event === 'lost').length;
    expect(holding(c.events) + holding(b.events)).toBe(1);
    await stopC();
    await stopB();
  }, 20_000);

  it('is not offered where the database cannot lock across instances', async () => {
    const sqlite = TARGETS.find((target) => target.provider === 'sqlite')!;
    const sandbox = await sqlite.sandbox();
    sandboxes.push(sandbox);
    const { app, db } = await startApp(sandbox.options);
    apps.push(app);
    expect(db.holdLock).toBeUndefined();
  });
});
