import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { get, type Sample } from './test-support/load.js';
import {
  api,
  freePorts,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from './test-support/gateway.js';

/**
 * No request dropped: continuous load through the gateway (keep-alive and not), slow requests
 * and an open WebSocket, while the service is promoted and rolled back again and again.
 */

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

let directory: string;
let gateway: TrafficGateway;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-load-'));
  gateway = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(directory, 'state.json'),
    service: { promotionDelay: 200, promotionChecks: 2 },
    traffic: { rollback: { window: 10 * 60_000 } },
  });
  await api(gateway, 'POST', '/deploy', { version: 'v1' });
  await waitForService(gateway, (view) => view.active?.version === 'v1', 'v1 active');
  await api(gateway, 'POST', '/deploy', { version: 'v2' });
  await waitForService(gateway, (view) => view.slots.some((slot) => slot.eligible), 'v2 eligible');
});

afterAll(async () => {
  await gateway?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe('no request dropped across promotions and rollbacks', () => {
  it('answers every request with 2xx, completes every slow request and keeps the WebSocket open', async () => {
    const SWITCHES = 10;
    const hello = `${gateway.url}/api/v1/hello`;
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const samples: Sample[] = [];
    const slow: Sample[] = [];
    const switches: number[] = [];
    let running = true;

    // Bounded workers: each loops until the switching is over.
    const worker = async (agent: http.Agent | false) => {
      for (let count = 0; running && count < 100_000; count++)
        samples.push(await get(hello, agent));
    };
    const slowWorker = async () => {
      for (let count = 0; running && count < 100; count++)
        slow.push(await get(`${gateway.url}/api/v1/slow?ms=2000`, keepAlive));
    };

    const socket = new WebSocket(`ws://127.0.0.1:${gateway.port}/api/v1/ws`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    let wsSent = 0;
    const wsEchoes: string[] = [];
    let wsClosed = false;
    socket.on('message', (data) => wsEchoes.push(String(data)));
    socket.on('close', () => (wsClosed = true));
    const pinger = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(String(++wsSent));
    }, 100);

    const load = [
      ...Array.from({ length: 6 }, () => worker(keepAlive)),
      ...Array.from({ length: 3 }, () => worker(false)),
      slowWorker(),
      slowWorker(),
    ];

    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let index = 0; index < SWITCHES; index++) {
      const command = index % 2 === 0 ? '/promote' : '/rollback';
      switches.push(performance.now());
      const answer = await api(gateway, 'POST', command, {});
      expect(answer.status, `${command} #${index}: ${JSON.stringify(answer.body)}`).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    running = false;
    await Promise.all(load);
    clearInterval(pinger);
    // Every message sent gets its echo before the socket is closed.
    const deadline = Date.now() + 2_000;
    while (wsEchoes.length < wsSent && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const closedEarly = wsClosed;
    socket.close();
    keepAlive.destroy();

    const failed = samples.filter((sample) => sample.error !== undefined);
    const non2xx = samples.filter(
      (sample) => sample.status !== undefined && (sample.status < 200 || sample.status > 299),
    );
    const latencies = samples.map((sample) => sample.ended - sample.started);
    const nearSwitch = samples.filter((sample) =>
      switches.some((at) => sample.ended >= at - 50 && sample.started <= at + 250),
    );
    const versions = new Set(samples.map((sample) => sample.version));
    const slowDone = slow.filter((sample) => sample.status === 200);

    console.log(
      [
        '',
        `no-drop: ${SWITCHES} switches (promote/rollback alternately, 500 ms apart), node ${process.version}`,
        `  requests sent ${samples.length}, answered ${samples.length - failed.length}, failed ${failed.length}, non-2xx ${non2xx.length}`,
        `  latency p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms; ` +
          `p99 during switches ${percentile(
            nearSwitch.map((s) => s.ended - s.started),
            99,
          ).toFixed(2)} ms over ${nearSwitch.length} requests`,
        `  slow (2 s) requests sent ${slow.length}, completed ${slowDone.length}`,
        `  websocket messages sent ${wsSent}, echoed ${wsEchoes.length}, closed early ${closedEarly}`,
        '',
      ].join('\n'),
    );

    expect(failed.map((sample) => sample.error)).toEqual([]);
    expect(non2xx.map((sample) => sample.status)).toEqual([]);
    expect(samples.length).toBeGreaterThan(200);
    expect(versions).toEqual(new Set(['v1', 'v2']));
    expect(slow.length).toBeGreaterThanOrEqual(4);
    expect(slowDone.length).toBe(slow.length);
    expect(closedEarly).toBe(false);
    expect(wsSent).toBeGreaterThan(30);
    expect(wsEchoes.length).toBe(wsSent);
  }, 60_000);
});
