import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, waitFor } from '../test/support/http.js';
import { SERVICES, serviceAvailable } from '../test/support/services.js';
import { waitForFirstRelease } from './first-release.js';
import { createDemoGateway } from './gateway.js';
import { createDemoService } from './service.js';
import type { Gateway } from '../src/gateway/index.js';
import { freePort } from '../test/support/ports.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('npm start', () => {
  it('fails at once naming PORT when PORT is not a port, before anything listens', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'main.ts')], {
      env: { ...process.env, PORT: 'abc', SERVICE_PORT: '70000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('PORT: expected number, received "abc"');
    expect(stderr).toContain('SERVICE_PORT');
    expect(stderr).not.toContain('    at ');
  });
});

describe('npm start, running', () => {
  it('says the demo is running only once the API answers through the gateway', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'demo-main-'));
    const [port, servicePort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'main.ts')], {
      env: {
        ...process.env,
        PORT: String(port),
        SERVICE_PORT: String(servicePort),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        ADMIN_PASSWORD: 'demo-main-password',
        MANAGEMENT_TOKEN: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let output = '';
    try {
      const hello = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "demo is running" within 60 s; output so far:\n${output}`)),
          60_000,
        );
        child.stderr.on('data', (chunk) => (output += chunk));
        child.stdout.on('data', (chunk) => {
          output += chunk;
          if (!output.includes('demo is running')) return;
          clearTimeout(timer);
          // The very moment it says so, the API answers.
          fetch(`http://127.0.0.1:${port}/api/v1/hello`).then(async (answer) => {
            await answer.body?.cancel();
            resolve(answer.status);
          }, reject);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
      });
      expect(hello).toBe(200);
      expect(output).toMatch(/demo is running \(gateway http:\/\/[^;]+; API v1 active in slot-a;/);
      // The rest of the banner: the limits in force, and that clients behind a proxy share one.
      for (let waited = 0; !output.includes('CI deploys') && waited < 5_000; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toMatch(
        /rate-limit +Rate limits in force \(memory store\): default: \d+ requests per 1 min per client address/,
      );
      expect(output).toMatch(/rate-limit +trustProxy is not set: .*TRUST_PROXY=1/);
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('waiting for the first release', () => {
  it('says why the first release is not active: failed with its reason, still starting at the bound; then it is', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'demo-first-'));
    // Something else holds slot-a's port: v1 cannot start there.
    const blocker = net.createServer((socket) => socket.destroy());
    const servicePort = await freePort();
    await new Promise<void>((resolve) => blocker.listen(servicePort, '127.0.0.1', resolve));
    const gateway = createDemoGateway({
      port: 0,
      host: '127.0.0.1',
      servicePort,
      dataDir,
      adminPassword: 'demo-test-password',
      traffic: { healthInterval: 200 },
    });
    try {
      await gateway.start();
      const traffic = gateway.context.services.get('traffic');
      const failed = await waitForFirstRelease(traffic, 'api', 60_000);
      expect(failed).toEqual({
        active: false,
        reason: `slot-a (v1) failed: could not start: port ${servicePort} is already in use by another process`,
      });
      await new Promise((resolve) => blocker.close(resolve));
      await traffic.deploy('api', 'v1', 'ops');
      // Three passing checks 200 ms apart cannot happen within 50 ms.
      const early = await waitForFirstRelease(traffic, 'api', 50);
      expect(early).toEqual({
        active: false,
        reason: expect.stringMatching(
          /^slot-a \(v1\) is still starting after 0 s, 0\/3 health checks passed/,
        ),
      });
      const ready = await waitForFirstRelease(traffic, 'api', 60_000);
      expect(ready).toMatchObject({
        active: true,
        view: { active: { slot: 'slot-a', version: 'v1' } },
      });
    } finally {
      await gateway.stop();
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('the demo gateway', () => {
  let gateway: Gateway;
  let base: string;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'demo-test-'));

  beforeAll(async () => {
    gateway = createDemoGateway({
      port: 0,
      host: '127.0.0.1',
      servicePort: await freePort(),
      dataDir,
      adminPassword: 'demo-test-password',
      traffic: { promotionDelay: 0, promotionChecks: 1, healthInterval: 200 },
    });
    await gateway.start();
    base = gateway.context.url()!.replace('localhost', '127.0.0.1');
    await waitFor(
      async () => (await fetch(`${base}/api/v1/hello`).catch(() => undefined))?.status === 200,
      'v1 answers through the gateway',
      60_000,
    );
  }, 90_000);
  afterAll(async () => {
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the frontend, the API from slot-a (v1) and open probes', async () => {
    expect(await json(fetch(`${base}/api/v1/hello`))).toMatchObject({
      version: 'v1',
      service: 'demo-api',
    });
    const page = await fetch(`${base}/some/client/route`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Demo product</title>');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/api/health`)).status).toBe(401);
  });

  it('keeps its traffic state in a file, with no embedded database in the always-up gateway', async () => {
    expect(gateway.context.services.tryGet('database')).toBeUndefined();
    const state = JSON.parse(
      readFileSync(path.join(dataDir, 'traffic-state.json'), 'utf8'),
    ) as unknown;
    expect(JSON.stringify(state)).toContain('"v1"');
  });

  it("closes the service's management routes to all but the gateway's random per-run token; its probes stay open", async () => {
    const traffic = gateway.context.services.get('traffic');
    await waitFor(() => traffic.service('api').active?.slot === 'slot-a', 'slot-a active', 30_000);
    const service = traffic.service('api').active!.target!;
    const token = gateway.context.managementToken();
    expect(token).toMatch(/^[\w-]{43}$/);
    const anonymous = await fetch(`${service}/api/config`);
    expect(anonymous.status).toBe(401);
    expect((await json(anonymous)).code).toBe('ADMIN_TOKEN_REQUIRED');
    const config = await fetch(`${service}/api/config`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(config.status).toBe(200);
    expect(JSON.stringify(await json(config))).not.toContain(token);
    expect((await fetch(`${service}/health/ready`)).status).toBe(200);
    expect((await fetch(`${service}/health/live`)).status).toBe(200);
  });

  it('keeps answering while the service process is killed: live 200, API 502/503 problem+json, then back', async () => {
    const traffic = gateway.context.services.get('traffic');
    // Killed while still starting, a release is failed, not revived: wait until it is active.
    await waitFor(() => traffic.service('api').active?.slot === 'slot-a', 'slot-a active', 30_000);
    const before = await traffic.runtime('api', 'slot-a');
    process.kill(before.pid!, 'SIGKILL');
    let sawOutage = false;
    await waitFor(
      async () => {
        const live = await fetch(`${base}/health/live`);
        expect(live.status).toBe(200);
        const answer = await fetch(`${base}/api/v1/hello`);
        if (answer.status === 200) {
          await answer.body?.cancel();
          return sawOutage && (await traffic.runtime('api', 'slot-a')).pid !== before.pid;
        }
        expect([502, 503]).toContain(answer.status);
        expect(answer.headers.get('content-type')).toBe('application/problem+json');
        await answer.body?.cancel();
        sawOutage = true;
        return false;
      },
      'the service is killed, the API fails cleanly, and the service comes back',
      80_000,
    );
    expect(traffic.history('api', 1)[0]).toMatchObject({
      slot: 'slot-a',
      from: 'active',
      to: 'active',
      reason: 'process exited: killed by SIGKILL; restarting',
    });
    expect(await json(fetch(`${base}/api/v1/hello`))).toMatchObject({ version: 'v1' });
  }, 90_000);
});

const dataServers = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

describe.skipIf(!dataServers)('the demo service', () => {
  it('runs on PostgreSQL and Redis when DATABASE_URL and REDIS_URL are given, with no code change', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'demo-service-'));
    const service = createDemoService({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      databaseUrl: SERVICES.postgres.url,
      redisUrl: SERVICES.redis.url,
    });
    try {
      await service.start();
      const stats = await json(
        fetch(`${service.context.url()!.replace('localhost', '127.0.0.1')}/api/v1/stats`),
      );
      expect(stats).toMatchObject({
        database: { provider: 'postgres', dialect: 'postgresql' },
        cache: { provider: 'redis' },
      });
    } finally {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
