import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../index.js';
import { baseUrl, waitFor } from '../../../test/support/http.js';
import { SERVICES } from '../../../test/support/services.js';
import { TcpProxy } from '../../../test/support/tcp-proxy.js';
import {
  ITEMS_SQL,
  TARGETS,
  items,
  removeTempDirs,
  startApp,
  writeMigrations,
  type Sandbox,
  type Started,
} from './test-support/targets.js';

afterAll(removeTempDirs);
const apps: App[] = [];
const sandboxes: Sandbox[] = [];
const proxies: TcpProxy[] = [];
const start = async (...args: Parameters<typeof startApp>): Promise<Started> => {
  const started = await startApp(...args);
  apps.push(started.app);
  return started;
};
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.cleanup()));
});

const servers = TARGETS.filter(
  (target) => target.provider === 'postgres' || target.provider === 'mysql',
);

describe.each(servers)('$provider going away and coming back', (target) => {
  it.skipIf(!target.available)(
    'turns readiness 503 during the outage and back to 200 with no restart and no unhandled error',
    async () => {
      const unhandled: unknown[] = [];
      const record = (error: unknown) => void unhandled.push(error);
      process.on('unhandledRejection', record);
      process.on('uncaughtException', record);
      try {
        const sandbox = await target.sandbox();
        sandboxes.push(sandbox);
        const server = SERVICES[target.provider as 'postgres' | 'mysql'];
        const proxy = await TcpProxy.start(0, server.host, server.port);
        proxies.push(proxy);
        const url = new URL(sandbox.options.url!);
        url.port = String(proxy.port);
        const { app, db } = await start({
          ...sandbox.options,
          url: url.toString(),
          migrations: await writeMigrations({ '0001_items': ITEMS_SQL }),
          pool: { max: 4 },
          healthCheck: { interval: 100, timeout: 1_000 },
          connectTimeout: 1_000,
        });
        const ready = async () => (await fetch(`${baseUrl(app)}/ready`)).status;
        // Several pooled connections, so idle ones are open when the cut happens.
        await Promise.all([1, 2, 3].map((id) => items(db).insert({ id, name: `before ${id}` })));
        expect(await ready()).toBe(200);
        expect(proxy.connections).toBeGreaterThan(0);

        await proxy.cut();
        await waitFor(
          async () => (await ready()) === 503,
          'readiness 503 while the database is away',
          10_000,
        );
        await expect(items(db).all()).rejects.toThrow();
        const api = await fetch(`${baseUrl(app)}/api/database`);
        expect(api.status).toBe(503);
        expect(await api.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
        const check = app.context.health
          .summary()
          .checks.find((entry) => entry.name === 'database');
        expect(check?.status).toBe('unhealthy');

        await proxy.restore();
        await waitFor(
          async () => (await ready()) === 200,
          'readiness 200 once the database is back',
          15_000,
        );
        await items(db).insert({ id: 4, name: 'after' });
        expect((await items(db).all()).map((item) => item.id)).toEqual([1, 2, 3, 4]);
        expect(app.context.phase()).toBe('ready');
        expect(app.context.services.get('database')).toBe(db);
        // Let any late socket errors surface before judging.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', record);
        process.off('uncaughtException', record);
      }
    },
  );

  it.skipIf(!target.available)(
    'cancels a statement that runs past statementTimeout, and the pool stays usable',
    async () => {
      const sandbox = await target.sandbox();
      sandboxes.push(sandbox);
      const { db } = await start({ ...sandbox.options, statementTimeout: 200, pool: { max: 1 } });
      const began = Date.now();
      if (db.is('postgresql')) {
        // Drizzle wraps driver errors; the driver's own is the cause.
        await expect(db.drizzle.execute(sql`SELECT pg_sleep(5)`)).rejects.toMatchObject({
          cause: { message: expect.stringMatching(/statement timeout/) },
        });
      } else if (db.is('mysql')) {
        const huge = sql`SELECT COUNT(*) FROM information_schema.columns a, information_schema.columns b, information_schema.columns c`;
        await expect(db.drizzle.execute(huge)).rejects.toMatchObject({
          cause: { message: expect.stringMatching(/max_statement_time|max_execution_time/) },
        });
      }
      expect(Date.now() - began).toBeLessThan(4_000);
      await db.ping(2_000);
    },
  );

  it.skipIf(!target.available)(
    'reports pool saturation as degraded while callers wait, and stays ready',
    async () => {
      const sandbox = await target.sandbox();
      sandboxes.push(sandbox);
      const { app, db } = await start({
        ...sandbox.options,
        migrations: await writeMigrations({ '0001_items': ITEMS_SQL }),
        pool: { max: 1 },
        healthCheck: { interval: 60_000, saturatedAfter: 0 },
      });
      let finish!: () => void;
      const held = db.transaction(() => new Promise<void>((resolve) => (finish = resolve)));
      await waitFor(
        () => db.poolStats().idle === 0 && db.poolStats().total === 1,
        'the only connection busy',
      );
      const queued = items(db).all();
      await waitFor(() => db.poolStats().waiting === 1, 'a caller waiting for a connection');

      const pool = await app.context.health.runNow('database-pool');
      expect(pool?.status).toBe('degraded');
      expect(pool?.message).toMatch(/saturated .* 1\/1 connections busy, 1 waiting/);
      // The server answered moments ago: a busy pool is not an unready database.
      expect((await app.context.health.runNow('database'))?.status).toBe('healthy');
      expect(app.context.isReady()).toBe(true);

      finish();
      await held;
      expect(await queued).toEqual([]);
      expect((await app.context.health.runNow('database-pool'))?.status).toBe('healthy');
    },
  );
});
