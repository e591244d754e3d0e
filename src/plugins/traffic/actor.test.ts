import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlPanelPlugin } from '../control-panel/index.js';
import type { TransitionView } from './index.js';
import {
  freePorts,
  servedVersion,
  slotState,
  startTrafficGateway,
  waitForService,
  type TrafficGateway,
} from './test-support/gateway.js';

const PASSWORD = 'actor-test-password';
let directory: string;
let gateway: TrafficGateway;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-actor-'));
  const uiDir = path.join(directory, 'ui');
  await mkdir(uiDir);
  await writeFile(path.join(uiDir, 'index.html'), '<!doctype html><title>panel</title>');
  gateway = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(directory, 'state.json'),
    plugins: [createControlPanelPlugin({ user: 'admin', password: PASSWORD, uiDir })],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await rm(directory, { recursive: true, force: true });
});

/** Logs in as the panel does: a session cookie plus the CSRF token for state-changing calls. */
async function login(): Promise<Record<string, string>> {
  const response = await fetch(`${gateway.url}/cpanel/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'admin', password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  const { csrfToken } = (await response.json()) as { csrfToken: string };
  const cookie = response.headers.get('set-cookie')!.split(';')[0];
  return { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' };
}

async function post(
  headers: Record<string, string>,
  command: string,
  body: object,
): Promise<number> {
  const response = await fetch(`${gateway.url}/cpanel/api/traffic/${command}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

describe('the actor of a transition is the user the admin guard identified', () => {
  it('records the session user for deploy and promote, and the Basic user for rollback', async () => {
    const session = await login();
    expect(await post(session, 'deploy', { version: 'v1' })).toBe(202);
    await waitForService(gateway, (view) => slotState(view, 'slot-a') === 'active', 'v1 active');
    expect(await post(session, 'deploy', { version: 'v2' })).toBe(202);
    await waitForService(
      gateway,
      (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
      'v2 promotable',
    );
    expect(await post(session, 'promote', {})).toBe(200);
    expect(await servedVersion(gateway)).toBe('v2');

    const basic = {
      authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`,
      'content-type': 'application/json',
    };
    expect(await post(basic, 'rollback', {})).toBe(200);
    expect(await servedVersion(gateway)).toBe('v1');

    const response = await fetch(`${gateway.url}/cpanel/api/traffic/history?limit=50`, {
      headers: { cookie: session.cookie },
    });
    const { transitions } = (await response.json()) as { transitions: TransitionView[] };
    const byUser = transitions
      .filter((t) => t.actor !== 'system')
      .map((t) => [t.slot, t.from, t.to, t.actor]);
    expect(byUser).toContainEqual(['slot-a', 'stopped', 'starting', 'admin']);
    expect(byUser).toContainEqual(['slot-b', 'stopped', 'starting', 'admin']);
    expect(byUser).toContainEqual(['slot-b', 'candidate', 'active', 'admin']);
    expect(byUser).toContainEqual(['slot-a', 'previous', 'active', 'admin']);
    expect(transitions.some((t) => t.actor === 'control-panel' || t.actor === 'local')).toBe(false);
  });

  it('a state-changing call with the session cookie but no CSRF token is refused and records nothing', async () => {
    const { cookie } = await login();
    const before = gateway.traffic.history('api', 1_000).length;
    expect(await post({ cookie, 'content-type': 'application/json' }, 'abort', {})).toBe(403);
    expect(gateway.traffic.history('api', 1_000)).toHaveLength(before);
  });
});
