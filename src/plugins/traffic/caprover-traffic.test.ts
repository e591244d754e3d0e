import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/http.js';
import { releaseImages } from './orchestrators/test-support/caprover-images.js';
import { CaproverStandIn } from './orchestrators/test-support/caprover-stand-in.js';
import {
  api,
  freePorts,
  servedVersion,
  slotState,
  startTrafficGateway,
  waitForService,
  type GatewaySetup,
  type TrafficGateway,
} from './test-support/gateway.js';

/**
 * The traffic plugin end to end on CapRover, through createTrafficPlugin: the orchestrator
 * drives the CapRover stand-in, whose apps really run behind their published ports, and the
 * gateway proxies real requests to them.
 */

const PASSWORD = 'captain42';
let directory: string;
let hostPorts: number[];
let captain: CaproverStandIn;
const gateways: TrafficGateway[] = [];

async function gateway(setup: Partial<GatewaySetup> = {}): Promise<TrafficGateway> {
  const started = await startTrafficGateway({
    ports: hostPorts,
    statePath: path.join(directory, 'state.json'),
    ...setup,
    traffic: {
      orchestrator: {
        type: 'caprover',
        url: captain.url,
        password: PASSWORD,
        image: 'registry.example.com/api:{version}',
        publishPorts: hostPorts,
        targetTemplate: 'http://127.0.0.1:{hostport}',
        pollInterval: 50,
      },
      ...setup.traffic,
    },
  });
  gateways.push(started);
  return started;
}

async function stopGateway(started: TrafficGateway): Promise<void> {
  await started.stop();
  gateways.splice(gateways.indexOf(started), 1);
}

async function activeV1CandidateV2(started: TrafficGateway): Promise<void> {
  expect((await api(started, 'POST', '/deploy', { version: 'v1' })).status).toBe(202);
  await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');
  expect((await api(started, 'POST', '/deploy', { version: 'v2' })).status).toBe(202);
  await waitForService(
    started,
    (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
    'v2 eligible',
  );
}

const app = (name: string) => captain.apps.get(name)!;

/** Steady keep-alive load through the gateway until `stop()`; counts what did not answer 2xx. */
function steadyLoad(url: string, workers = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
  const failures: string[] = [];
  const versions = new Set<string>();
  let sent = 0;
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      sent++;
      const req = http.get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300) failures.push(`HTTP ${res.statusCode}: ${body}`);
          else versions.add((JSON.parse(body) as { version: string }).version);
          resolve();
        });
      });
      req.on('error', (error) => {
        failures.push(error.message);
        resolve();
      });
    });
  const loops = Array.from({ length: workers }, async () => {
    while (running) await one();
  });
  return {
    failures,
    versions,
    sent: () => sent,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-caprover-'));
  hostPorts = await freePorts(2);
  captain = await new CaproverStandIn({
    password: PASSWORD,
    images: releaseImages,
    restartDelay: 300,
  }).start();
});

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((started) => started.stop()));
  await captain.close();
  await rm(directory, { recursive: true, force: true });
});

describe('traffic on CapRover (stand-in)', () => {
  it('deploys v1 and v2, promotes and rolls back under a steady load with no failed request', async () => {
    const started = await gateway({ traffic: { rollback: { window: 60_000 } } });
    await activeV1CandidateV2(started);
    expect(await servedVersion(started)).toBe('v1');
    expect(app('api-slot-a').deployedImages).toEqual(['registry.example.com/api:v1']);
    expect(app('api-slot-b').deployedImages).toEqual(['registry.example.com/api:v2']);

    const load = steadyLoad(`${started.url}/api/v1/hello`);
    const SWITCHES = 8;
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let index = 0; index < SWITCHES; index++) {
      const command = index % 2 === 0 ? '/promote' : '/rollback';
      const answer = await api(started, 'POST', command, {});
      expect(answer.status, `${command} #${index}: ${JSON.stringify(answer.body)}`).toBe(200);
      expect(answer.body.active?.version).toBe(index % 2 === 0 ? 'v2' : 'v1');
      // The route switched before the answer: the next request reaches the new active.
      expect(await servedVersion(started)).toBe(index % 2 === 0 ? 'v2' : 'v1');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await load.stop();
    console.log(
      `caprover stand-in: ${SWITCHES} switches under load, requests ${load.sent()}, failed ${load.failures.length}`,
    );
    expect(load.failures).toEqual([]);
    expect(load.sent()).toBeGreaterThan(50);
    expect(load.versions).toEqual(new Set(['v1', 'v2']));
    // Both apps were deployed once each: promote and rollback move traffic, not releases.
    expect(app('api-slot-a').deployedImages).toHaveLength(1);
    expect(app('api-slot-b').deployedImages).toHaveLength(1);

    // The slot's log, demultiplexed from CapRover's framed stream, through the traffic API.
    const logs = await api(started, 'GET', '/services/api/slots/slot-b/logs?limit=5');
    expect(logs.body.lines).toEqual([
      expect.stringMatching(/^release v2 listening on 127\.0\.0\.1:\d+$/),
    ]);
    expect(logs.body.runtime).toEqual({
      state: 'running',
      detail: '1 instance(s), deployed version 0',
    });
    // CapRover gone: a problem with the orchestrator's code, and the gateway keeps routing.
    await captain.close();
    const down = await fetch(`${started.url}/cpanel/api/traffic/services/api/slots/slot-b/logs`);
    expect(down.status).toBe(502);
    expect(down.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await down.json()).toMatchObject({ code: 'TRAFFIC_CAPROVER_UNREACHABLE' });
  });

  it('scales the previous app to zero when the window ends, keeping its definition, and deploys into it again', async () => {
    const started = await gateway({ traffic: { rollback: { window: 1_500 } } });
    await activeV1CandidateV2(started);
    await api(started, 'POST', '/promote', {});
    const before = structuredClone(app('api-slot-a').definition);
    // The gateway's token expires meanwhile: the stop logs in again and goes through.
    captain.expireTokens();
    await waitFor(() => app('api-slot-a').definition.instanceCount === 0, 'slot-a scaled to 0');
    expect(captain.logins).toBe(2);
    // All of it kept: CapRover only fills in the deploy token's empty value, as it does on any update.
    expect(app('api-slot-a').definition).toEqual({
      ...before,
      instanceCount: 0,
      appDeployTokenConfig: { enabled: false, appDeployToken: '' },
    });
    await waitFor(() => app('api-slot-a').service.pid === undefined, 'slot-a container gone');

    await api(started, 'POST', '/deploy', { version: 'v3' });
    await waitForService(
      started,
      (view) => view.slots.some((slot) => slot.id === 'slot-a' && slot.eligible),
      'v3 eligible in slot-a',
    );
    expect(app('api-slot-a').definition).toMatchObject({
      instanceCount: 1,
      envVars: before.envVars,
      containerHttpPort: 3000,
      ports: before.ports,
    });
    await api(started, 'POST', '/promote', {});
    expect(await servedVersion(started)).toBe('v3');
  });

  it('never promotes a candidate that never becomes ready, or whose image CapRover cannot deploy', async () => {
    const started = await gateway({
      service: { autoPromote: true, startTimeout: 1_500 },
    });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');

    await api(started, 'POST', '/deploy', { version: 'unhealthy-v2' });
    await waitForService(started, (view) => slotState(view, 'slot-b') === 'failed', 'v2 failed');
    const history = started.traffic.history('api', 100);
    expect(history.some((t) => t.slot === 'slot-b' && t.to === 'active')).toBe(false);
    expect(history[0]).toMatchObject({
      slot: 'slot-b',
      to: 'failed',
      reason: expect.stringMatching(
        /^not healthy within 1\.5 s(: GET \/health\/ready answered 503)?$/,
      ),
    });
    expect(await servedVersion(started)).toBe('v1');
    await waitFor(() => app('api-slot-b').definition.instanceCount === 0, 'failed app scaled to 0');

    captain.images = (image) => (image.endsWith(':v3') ? undefined : releaseImages(image));
    await api(started, 'POST', '/deploy', { version: 'v3' });
    const view = await waitForService(
      started,
      (current) => slotState(current, 'slot-b') === 'failed' && current.slots[1].version === 'v3',
      'v3 failed',
    );
    expect(view.active).toMatchObject({ slot: 'slot-a', version: 'v1' });
    expect(started.traffic.history('api', 1)[0].reason).toContain(
      'CapRover could not deploy registry.example.com/api:v3 to api-slot-b: ---------------------- / Deploy failed! / Error: (HTTP code 404) unexpected - manifest for registry.example.com/api:v3 not found',
    );
    expect(await servedVersion(started)).toBe('v1');
  });

  it('rolls back by itself when the new active crashes, with automatic rollback on', async () => {
    const started = await gateway({ traffic: { rollback: { automatic: true, window: 60_000 } } });
    await activeV1CandidateV2(started);
    await api(started, 'POST', '/promote', {});
    expect(await servedVersion(started)).toBe('v2');
    app('api-slot-b').service.crash();
    const view = await waitForService(
      started,
      (current) => current.active?.version === 'v1',
      'rolled back to v1',
    );
    expect(slotState(view, 'slot-b')).toBe('failed');
    expect(started.traffic.history('api', 5)[0]).toMatchObject({
      slot: 'slot-b',
      to: 'failed',
      actor: 'system',
      reason: expect.stringMatching(
        /^automatic rollback: active failed 2 consecutive health checks: /,
      ),
    });
    expect(await servedVersion(started)).toBe('v1');
  });

  it('serves the active again once CapRover restarts its crashed container, with nothing to roll back to', async () => {
    const started = await gateway({ traffic: { rollback: { automatic: true } } });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');
    const pid = app('api-slot-a').service.pid;
    app('api-slot-a').service.crash();
    await waitFor(
      async () => app('api-slot-a').service.pid !== pid && (await servedVersion(started)) === 'v1',
      'v1 restarted by CapRover',
    );
    expect(app('api-slot-a').service.restarts).toBe(1);
    expect(started.traffic.service('api').active).toMatchObject({ slot: 'slot-a', version: 'v1' });
    // CapRover restarted it: the gateway deployed nothing again.
    expect(app('api-slot-a').deployedImages).toEqual(['registry.example.com/api:v1']);
  });

  it('routes exactly as before after a gateway restart inside the rollback window', async () => {
    const first = await gateway({ traffic: { rollback: { window: 60_000 } } });
    await activeV1CandidateV2(first);
    await api(first, 'POST', '/promote', {});
    const before = first.traffic.service('api');
    await stopGateway(first);
    // The apps run on in CapRover while no gateway is up.
    expect(app('api-slot-a').service.pid).toBeDefined();
    expect(app('api-slot-b').service.pid).toBeDefined();

    const second = await gateway({ traffic: { rollback: { window: 60_000 } } });
    expect(second.traffic.service('api').active).toEqual(before.active);
    expect(second.traffic.service('api').rollback).toEqual(before.rollback);
    await waitFor(async () => (await servedVersion(second)) === 'v2', 'v2 served after restart');
    await waitForService(
      second,
      (view) => view.slots.every((slot) => slot.passing > 0),
      'both apps healthy',
    );
    expect((await api(second, 'POST', '/rollback', {})).status).toBe(200);
    expect(await servedVersion(second)).toBe('v1');
    expect(app('api-slot-a').deployedImages).toHaveLength(1);
    expect(app('api-slot-b').deployedImages).toHaveLength(1);
  });

  it('scales an idle dev app to zero and wakes it on the next request, which waits for it', async () => {
    const started = await gateway({
      service: { dev: true, idleTimeout: 600, wakeTimeout: 10_000 },
    });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(started, (view) => slotState(view, 'slot-a') === 'dev', 'dev app running');
    expect(await servedVersion(started)).toBe('v1');
    await waitForService(started, (view) => view.slots[0].asleep === true, 'dev app asleep', 5_000);
    await waitFor(() => app('api-slot-a').service.pid === undefined, 'dev app scaled to 0');
    expect(app('api-slot-a').definition.instanceCount).toBe(0);
    // The request that wakes it waits for CapRover to scale the app up again, and is answered.
    expect(await servedVersion(started)).toBe('v1');
    expect(app('api-slot-a').definition.instanceCount).toBe(1);
    expect(app('api-slot-a').deployedImages).toEqual(['registry.example.com/api:v1']);
    expect(started.traffic.history('api', 3).map((t) => t.reason)).toContain(
      'a request arrived while asleep',
    );
  });
});
