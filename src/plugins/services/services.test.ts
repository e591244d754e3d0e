import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { baseUrl, json, waitFor } from '../../../test/support/http.js';
import { createServicesPlugin } from './index.js';
import { freePort } from '../../../test/support/ports.js';

const fixture = fileURLToPath(
  new URL('../../../test/fixtures/services/tiny-service.mjs', import.meta.url),
);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('services plugin', () => {
  it('starts a service with its PORT, restarts it with backoff after a crash, and stops it with the app', async () => {
    const port = await freePort();
    app = createApp({
      name: 'gw',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [
        createServicesPlugin({
          services: [
            {
              name: 'api',
              command: process.execPath,
              args: [fixture],
              port,
              env: { VERSION: 'v7' },
              healthInterval: 100,
              restart: { initialDelay: 100 },
            },
          ],
        }),
      ],
    });
    await app.start();
    const serviceUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(serviceUrl).catch(() => undefined))?.ok === true,
      'service answers',
    );
    const first = await json(fetch(serviceUrl));
    expect(first.version).toBe('v7');

    await fetch(`${serviceUrl}/crash`);
    await waitFor(async () => {
      const response = await fetch(serviceUrl).catch(() => undefined);
      return response?.ok === true && (await json(response)).pid !== first.pid;
    }, 'service restarted');
    const listed = await json(fetch(`${baseUrl(app)}/api/services`));
    expect(listed.services[0]).toMatchObject({
      name: 'api',
      state: 'running',
      restarts: 1,
      lastExit: { code: 3 },
    });
    const logs = await json(fetch(`${baseUrl(app)}/api/services/api/logs`));
    expect(logs.lines).toContain(`tiny-service listening ${port}`);
    expect((await fetch(`${baseUrl(app)}/api/services/nope/logs`)).status).toBe(404);
    expect((await json(fetch(`${baseUrl(app)}/api/services/api/logs?limit=1`))).lines).toHaveLength(
      1,
    );
    for (const limit of ['-1', '0', 'abc', '1001']) {
      const refused = await fetch(`${baseUrl(app)}/api/services/api/logs?limit=${limit}`);
      expect(refused.status, limit).toBe(400);
      expect((await json(refused)).code).toBe('SERVICES_INVALID_LIMIT');
    }

    const pid = listed.services[0].pid as number;
    await app.stop();
    expect(alive(pid)).toBe(false);
  });

  it("gives each service the gateway's management token, which the service's own env may override", async () => {
    const [first, second] = [await freePort(), await freePort()];
    const token = 'gateway-management-token-0123456789abcdef';
    app = createApp({
      name: 'gw',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      management: { token },
      plugins: [
        createServicesPlugin({
          services: [
            { name: 'api', command: process.execPath, args: [fixture], port: first },
            {
              name: 'own',
              command: process.execPath,
              args: [fixture],
              port: second,
              env: { MANAGEMENT_TOKEN: 'its-own-token-0123456789abcdef0123' },
            },
          ],
        }),
      ],
    });
    await app.start();
    const answer = async (port: number) => {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}`).catch(() => undefined))?.ok === true,
        `service on ${port} answers`,
      );
      return json(fetch(`http://127.0.0.1:${port}`));
    };
    expect((await answer(first)).managementToken).toBe(token);
    expect((await answer(second)).managementToken).toBe('its-own-token-0123456789abcdef0123');
  });

  it('keeps the gateway ready while a service is down (its check is informational)', async () => {
    const port = await freePort();
    app = createApp({
      name: 'gw',
      port: 0,
      host: '127.0.0.1',
      logger: { level: 'silent' },
      shutdown: { signals: false },
      plugins: [
        createServicesPlugin({
          services: [
            {
              name: 'api',
              command: process.execPath,
              args: ['-e', 'process.exit(1)'],
              port,
              healthInterval: 100,
              restart: { initialDelay: 50, maxDelay: 200 },
            },
          ],
        }),
      ],
    });
    await app.start();
    await waitFor(
      () => (app!.context.services.get('localServices').list()[0].restarts ?? 0) >= 2,
      'crashing service restarted twice',
    );
    expect(app.context.isReady()).toBe(true);
    const summary = app.context.health.summary();
    expect(summary.status).toBe('degraded');
    expect(summary.checks.find((check) => check.name === 'service:api')?.status).toBe('unhealthy');
  });
});
