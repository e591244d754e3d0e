import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrafficClient } from '../../cli/client.js';
import { createConfigPlugin } from '../config/index.js';
import { createControlPanelPlugin } from '../control-panel/index.js';
import {
  freePorts,
  servedVersion,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from '../traffic/test-support/gateway.js';
import { createRateLimitPlugin } from './index.js';
import type { RateLimitPluginOptions } from './options.js';
import type { AppOptions } from '../../core/app.js';
import { definePlugin } from '../../core/plugin.js';

/**
 * The control plane apart from the data plane: operators (management routes, the control panel,
 * the deployment CLI) count in their own bucket, after the guard, so a flood of product traffic
 * from an address never refuses a deploy from it.
 */

const USER = 'ops';
const PASSWORD = 'control-plane-password';
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

let directory: string;
let gateway: TrafficGateway | undefined;

/** An admin route under the panel, added after it (as the traffic and keys plugins add theirs). */
const probe = definePlugin({
  name: 'probe',
  routes: [
    {
      method: 'get',
      path: '/cpanel/api/probe',
      access: 'admin',
      handler: (_req, res) => void res.json({ probed: true }),
    },
  ],
});

async function start(
  limits: RateLimitPluginOptions,
  trustProxy?: AppOptions['trustProxy'],
): Promise<TrafficGateway> {
  const uiDir = path.join(directory, 'ui');
  await mkdir(uiDir, { recursive: true });
  await writeFile(path.join(uiDir, 'index.html'), '<!doctype html><title>panel</title>');
  gateway = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(directory, 'state.json'),
    service: { promotionDelay: 0, promotionChecks: 1 },
    trustProxy,
    plugins: [
      createControlPanelPlugin({ user: USER, password: PASSWORD, uiDir }),
      createConfigPlugin(),
      createRateLimitPlugin(limits),
      probe,
    ],
  });
  return gateway;
}

/** Proxied requests from this address until the data plane refuses one; answers how many it took. */
async function floodUntilRefused(started: TrafficGateway, atMost: number): Promise<number> {
  for (let sent = 1; sent <= atMost; sent++) {
    const response = await fetch(`${started.url}/api/v1/hello`);
    await response.body?.cancel();
    if (response.status === 429) return sent;
  }
  throw new Error(`the data plane never refused a request in ${atMost}`);
}

/** `limit` calls answered `status` with `code`, each counted: the next one is refused, 429. */
async function expectCountedThen429(
  call: () => Promise<Response>,
  limit: number,
  status: number,
  code: string,
): Promise<void> {
  for (let sent = 0; sent < limit; sent++) {
    const response = await call();
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ code });
  }
  const refused = await call();
  expect(refused.status).toBe(429);
  expect(await refused.json()).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', limit });
}

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'control-plane-'));
});

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  await rm(directory, { recursive: true, force: true });
});

describe('control plane apart from data plane', () => {
  it('deploys, promotes and rolls back from an address whose product traffic is being refused', async () => {
    const started = await start({ default: { windowMs: 60_000, limit: 20 } });
    expect(await floodUntilRefused(started, 100)).toBe(21);

    const client = new TrafficClient({ url: started.url, user: USER, password: PASSWORD });
    await client.deploy('api', 'v1', false);
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');
    await client.deploy('api', 'v2', false);
    await waitForService(
      started,
      (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
      'v2 eligible',
    );
    expect((await client.command('promote', 'api')).active).toMatchObject({ version: 'v2' });
    expect((await client.command('rollback', 'api')).active).toMatchObject({ version: 'v1' });
    // The operator's status polls above were many; the product's bucket is still full, and its own.
    expect(await servedVersion(started)).toBe(429);
  });

  it('counts operators in their own bucket, per operator, with the usual 429 problem+json', async () => {
    const started = await start({
      default: { windowMs: 60_000, limit: 1_000 },
      controlPlane: { windowMs: 60_000, limit: 5 },
    });
    const config = () => fetch(`${started.url}/api/config`, { headers: { authorization: basic } });
    for (let call = 0; call < 5; call++) expect((await config()).status).toBe(200);
    const refused = await config();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', limit: 5 });
    // The product's users are not the operator: its bucket is untouched (503: nothing deployed yet).
    expect(await servedVersion(started)).toBe(503);
  });

  it("counts a call once, for the operator, though the panel's catch-all comes before its route", async () => {
    const started = await start({
      default: { windowMs: 60_000, limit: 1_000 },
      controlPlane: { windowMs: 60_000, limit: 4 },
    });
    const status = async (url: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${started.url}${url}`, { headers });
      await response.body?.cancel();
      return response.status;
    };
    // Anonymous page loads spend the address's bucket...
    for (let call = 0; call < 4; call++) expect(await status('/cpanel/traffic')).toBe(200);
    expect(await status('/cpanel/traffic')).toBe(429);
    // ...never the operator's: their calls count in their own bucket, once each.
    for (let call = 0; call < 4; call++)
      expect(await status('/cpanel/api/probe', { authorization: basic })).toBe(200);
    expect(await status('/cpanel/api/probe', { authorization: basic })).toBe(429);
  });

  it('limits callers the guard refuses, per address, and still lets the operator in', async () => {
    const started = await start({
      default: { windowMs: 60_000, limit: 1_000 },
      controlPlane: { windowMs: 60_000, limit: 3 },
    });
    const guess = () =>
      fetch(`${started.url}/api/config`, { headers: { authorization: 'Bearer qwk_guess' } });
    for (let call = 0; call < 3; call++) expect((await guess()).status).toBe(401);
    const refused = await guess();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', limit: 3 });
    // Unrouted control-plane paths count there too, before their 404.
    const nothing = await fetch(`${started.url}/cpanel/api/nothing`);
    expect(nothing.status).toBe(429);
    const config = await fetch(`${started.url}/api/config`, { headers: { authorization: basic } });
    expect(config.status).toBe(200);
  });

  it('counts a control-plane body refused before the routes (malformed JSON on the login)', async () => {
    const started = await start({
      default: { windowMs: 60_000, limit: 1_000 },
      controlPlane: { windowMs: 60_000, limit: 3 },
    });
    const login = () =>
      fetch(`${started.url}/cpanel/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: started.url },
        body: '{',
      });
    await expectCountedThen429(login, 3, 400, 'REQUEST_MALFORMED_JSON');
  });

  it('counts an unrouted control-plane path before its 404', async () => {
    const started = await start({
      default: { windowMs: 60_000, limit: 1_000 },
      controlPlane: { windowMs: 60_000, limit: 2 },
    });
    const nothing = () => fetch(`${started.url}/cpanel/api/nothing`);
    await expectCountedThen429(nothing, 2, 404, 'ROUTE_NOT_FOUND');
  });

  it('never spends the product bucket on control-plane calls', async () => {
    const started = await start({ default: { windowMs: 60_000, limit: 5 } });
    for (let call = 0; call < 12; call++) {
      const response = await fetch(`${started.url}/cpanel/api/traffic`, {
        headers: { authorization: basic },
      });
      expect(response.status).toBe(200);
      await response.body?.cancel();
    }
    expect(await floodUntilRefused(started, 20)).toBe(6);
  });

  it('says which limits are in force, and that clients behind a proxy share a bucket without trustProxy', async () => {
    const started = await start({ default: { windowMs: 60_000, limit: 6_000 } });
    const report = (await (
      await fetch(`${started.url}/api/config`, { headers: { authorization: basic } })
    ).json()) as { notices: { level: string; message: string }[] };
    expect(report.notices.find((notice) => notice.level === 'info')?.message).toMatch(
      /default: 6000 requests per 1 min per client address; control-plane: 1200 requests per 1 min per operator/,
    );
    expect(report.notices.find((notice) => notice.level === 'warn')?.message).toMatch(
      /trustProxy is not set: .*shares one address and one rate-limit bucket/,
    );
    const logged = started.logs.find((line) =>
      String(line.msg).startsWith('trustProxy is not set'),
    );
    expect(logged?.level).toBe('warn');
    await started.stop();

    const trusting = await start({ default: { windowMs: 60_000, limit: 6_000 } }, 1);
    const trusted = (await (
      await fetch(`${trusting.url}/api/config`, { headers: { authorization: basic } })
    ).json()) as { notices: { level: string }[] };
    expect(trusted.notices.some((notice) => notice.level === 'warn')).toBe(false);
  });
});
