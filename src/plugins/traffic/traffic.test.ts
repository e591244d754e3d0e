import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/http.js';
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

let directory: string;
let ports: number[];
const gateways: TrafficGateway[] = [];

async function gateway(setup: Partial<GatewaySetup> = {}): Promise<TrafficGateway> {
  const started = await startTrafficGateway({
    ports,
    statePath: path.join(directory, 'state.json'),
    ...setup,
  });
  gateways.push(started);
  return started;
}

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-'));
  ports = await freePorts(2);
});

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((started) => started.stop()));
  await rm(directory, { recursive: true, force: true });
});

/** True when nothing accepts connections on the port. */
async function portClosed(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, {
      headers: { connection: 'close' },
    });
    await response.body?.cancel();
    return false;
  } catch {
    return true;
  }
}

/** With v1 already active: v2 a promotable candidate in slot-b. */
async function activeV1CandidateV2AfterV1(started: TrafficGateway): Promise<void> {
  expect((await api(started, 'POST', '/deploy', { service: 'api', version: 'v2' })).status).toBe(
    202,
  );
  await waitForService(
    started,
    (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
    'v2 eligible',
  );
}

/** v1 active in slot-a, v2 a promotable candidate in slot-b. */
async function activeV1CandidateV2(started: TrafficGateway): Promise<void> {
  expect((await api(started, 'POST', '/deploy', { service: 'api', version: 'v1' })).status).toBe(
    202,
  );
  await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');
  expect((await api(started, 'POST', '/deploy', { service: 'api', version: 'v2' })).status).toBe(
    202,
  );
  await waitForService(
    started,
    (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
    'v2 eligible',
  );
}

describe('traffic over local processes', () => {
  it('deploys v1, deploys v2, promotes, rolls back, with every transition recorded', async () => {
    const started = await gateway();
    await activeV1CandidateV2(started);
    expect(await servedVersion(started)).toBe('v1');

    const promoted = await api(started, 'POST', '/promote', { service: 'api' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.active).toMatchObject({
      slot: 'slot-b',
      version: 'v2',
      target: `http://127.0.0.1:${ports[1]}`,
    });
    expect(promoted.body.rollback).toMatchObject({ slot: 'slot-a', version: 'v1' });
    // The route switched before the answer: the very next request reaches v2.
    expect(await servedVersion(started)).toBe('v2');

    const rolledBack = await api(started, 'POST', '/rollback', { service: 'api' });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.active).toMatchObject({ slot: 'slot-a', version: 'v1' });
    expect(await servedVersion(started)).toBe('v1');
    expect(slotState(rolledBack.body, 'slot-b')).toBe('candidate');

    const { body } = await api(started, 'GET', '/history?limit=50');
    const transitions = (
      body.transitions as {
        slot: string;
        from: string;
        to: string;
        actor: string;
        reason: string;
        at: string;
      }[]
    ).reverse();
    expect(transitions.map((t) => `${t.slot} ${t.from}->${t.to} by ${t.actor}`)).toEqual([
      'slot-a stopped->starting by local',
      'slot-a starting->active by system',
      'slot-b stopped->starting by local',
      'slot-b starting->candidate by system',
      'slot-a active->previous by local',
      'slot-b candidate->active by local',
      'slot-a previous->active by local',
      'slot-b active->candidate by local',
    ]);
    for (const transition of transitions)
      expect(Date.parse(transition.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(transitions[1].reason).toBe(
      'first release, nothing to compare against: active after 2 consecutive passing health checks (no promotion delay)',
    );
  });

  it('gives a first release no traffic until it is active: the route answers 503 naming the reason, then v1 with no candidate stage', async () => {
    // The route's own target is the first slot's port, as in the demo: only the guard keeps requests off it.
    const started = await gateway({
      routeTarget: `http://127.0.0.1:${ports[0]}`,
      service: { promotionChecks: 6, healthInterval: 250, promotionDelay: 60_000 },
    });
    const nothing = await fetch(`${started.url}/api/v1/hello`);
    expect(nothing.status).toBe(503);
    expect(nothing.headers.get('content-type')).toBe('application/problem+json');
    expect(await nothing.json()).toMatchObject({
      code: 'TRAFFIC_NO_ACTIVE_RELEASE',
      detail:
        'api has no active release: nothing is deployed. Deploy a version (qwickapps deploy api <version>).',
    });

    expect((await api(started, 'POST', '/deploy', { version: 'v1' })).status).toBe(202);
    let refusedWhileUp = 0;
    await waitFor(
      async () => {
        const before = started.traffic.service('api');
        const direct = await fetch(`http://127.0.0.1:${ports[0]}/api/v1/hello`).then(
          (answer) => answer.status,
          () => 0,
        );
        const through = await fetch(`${started.url}/api/v1/hello`);
        const after = started.traffic.service('api');
        if (before.active || after.active) {
          await through.body?.cancel();
          return true;
        }
        // The release answers on its own port, yet the gateway gives it nothing while it is starting.
        expect(slotState(after, 'slot-a')).toBe('starting');
        expect(through.status).toBe(503);
        expect(Number(through.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        const problem = (await through.json()) as { code: string; detail: string };
        expect(problem.code).toBe('TRAFFIC_NO_ACTIVE_RELEASE');
        expect(problem.detail).toMatch(
          /^api has no active release yet: slot-a \(v1\) is starting and becomes active once it passed 6 consecutive health checks \([0-6] so far\)\.$/,
        );
        if (direct === 200) refusedWhileUp++;
        return false;
      },
      'v1 active',
      15_000,
    );
    expect(refusedWhileUp).toBeGreaterThan(0);
    expect(await servedVersion(started)).toBe('v1');
    // Active long before promotionDelay, and never a candidate to promote or abort.
    expect(started.traffic.history('api', 10).map((t) => `${t.from}->${t.to}`)).toEqual([
      'starting->active',
      'stopped->starting',
    ]);
    // So the next deploy is accepted at once.
    expect((await api(started, 'POST', '/deploy', { version: 'v2' })).status).toBe(202);
  });

  it('stops the previous release when the rollback window ends', async () => {
    const started = await gateway({ traffic: { rollback: { window: 800 } } });
    await activeV1CandidateV2(started);
    await api(started, 'POST', '/promote', { service: 'api' });
    await waitForService(
      started,
      (view) => slotState(view, 'slot-a') === 'stopped',
      'previous stopped after the window',
      5_000,
    );
    // The process is gone, not just unrouted.
    await waitFor(() => portClosed(ports[0]), 'previous release process exited');
    const refused = await api(started, 'POST', '/rollback', { service: 'api' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'TRAFFIC_NO_PREVIOUS' });
    expect(await servedVersion(started)).toBe('v2');
  });

  it('never gives traffic to a candidate that crashes, even with autoPromote', async () => {
    const started = await gateway({
      service: { autoPromote: true, promotionDelay: 1_500, promotionChecks: 3 },
    });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');
    await api(started, 'POST', '/deploy', { version: 'crash-v2' });
    const view = await waitForService(
      started,
      (current) => slotState(current, 'slot-b') === 'failed',
      'crashing candidate failed',
    );
    expect(view.active).toMatchObject({ slot: 'slot-a', version: 'v1' });
    expect(view.slots.find((slot) => slot.id === 'slot-b')).toMatchObject({ colour: 'red' });
    const history = started.traffic.history('api', 100);
    expect(history.some((t) => t.slot === 'slot-b' && t.to === 'active')).toBe(false);
    // The exit usually arrives first; on a loaded machine failing checks may beat it.
    expect(history[0]).toMatchObject({
      slot: 'slot-b',
      to: 'failed',
      reason: expect.stringMatching(
        /^(process exited: exit code 1|failed 2 consecutive health checks: .*ECONNREFUSED)$/,
      ),
    });
    expect(await servedVersion(started)).toBe('v1');
    const logs = await api(started, 'GET', '/services/api/slots/slot-b/logs?limit=10');
    expect(logs.body.lines).toContain('release crash-v2 crashing on purpose');
    // Exited, or already stopped by the failure's stop effect; either way the exit is kept.
    expect(logs.body.runtime).toMatchObject({
      state: expect.stringMatching(/^(exited|stopped)$/),
      detail: expect.stringMatching(/^last exit: code 1 at /),
    });
  });

  it('rolls back by itself when the new active crashes, with automatic rollback on', async () => {
    const started = await gateway({ traffic: { rollback: { automatic: true, window: 60_000 } } });
    await activeV1CandidateV2(started);
    await api(started, 'POST', '/promote', {});
    expect(await servedVersion(started)).toBe('v2');
    const runtime = await started.traffic.runtime('api', 'slot-b');
    process.kill(runtime.pid!, 'SIGKILL');
    const view = await waitForService(
      started,
      (current) => current.active?.version === 'v1',
      'rolled back to v1',
    );
    expect(slotState(view, 'slot-b')).toBe('failed');
    expect(await servedVersion(started)).toBe('v1');
    expect(started.traffic.history('api', 5)[0]).toMatchObject({
      slot: 'slot-b',
      to: 'failed',
      actor: 'system',
      reason: 'automatic rollback: active process exited: killed by SIGKILL',
    });
  });

  it('restarts a crashed active in place when nothing is warm to roll back to', async () => {
    const started = await gateway({ traffic: { rollback: { automatic: true } } });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');
    const before = await started.traffic.runtime('api', 'slot-a');
    process.kill(before.pid!, 'SIGKILL');
    await waitFor(
      async () =>
        (await started.traffic.runtime('api', 'slot-a')).pid !== before.pid &&
        (await servedVersion(started)) === 'v1',
      'v1 restarted',
    );
    expect(started.traffic.history('api', 1)[0]).toMatchObject({
      from: 'active',
      to: 'active',
      reason: 'process exited: killed by SIGKILL; restarting',
    });
  });

  it('rolls back by itself when the new active answers mostly 5xx', async () => {
    const started = await gateway({
      traffic: {
        rollback: {
          automatic: true,
          errorRate: { threshold: 0.5, window: 5_000, minRequests: 10 },
        },
      },
    });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(started, (view) => view.active?.version === 'v1', 'v1 active');
    await api(started, 'POST', '/deploy', { version: '5xx-v2' });
    await waitForService(
      started,
      (view) => view.slots.some((slot) => slot.id === 'slot-b' && slot.eligible),
      '5xx-v2 eligible',
    );
    await api(started, 'POST', '/promote', {});
    const statuses: (string | number)[] = [];
    for (let index = 0; index < 12; index++) statuses.push(await servedVersion(started));
    expect(statuses.filter((status) => status === 500).length).toBeGreaterThanOrEqual(10);
    await waitForService(
      started,
      (view) => view.active?.version === 'v1',
      'rolled back on the error rate',
      5_000,
    );
    expect(started.traffic.history('api', 5)[0].reason).toMatch(
      /^automatic rollback: 5xx rate 100% of \d+ answers over 5 s \(threshold 50%\)$/,
    );
    expect(await servedVersion(started)).toBe('v1');
  });

  it('routes exactly as before after a gateway restart inside the window, deadlines included', async () => {
    const first = await gateway({ traffic: { rollback: { window: 60_000 } } });
    await activeV1CandidateV2(first);
    await api(first, 'POST', '/promote', {});
    const before = first.traffic.service('api');
    await first.stop();
    gateways.splice(gateways.indexOf(first), 1);
    const saved = JSON.parse(await readFile(path.join(directory, 'state.json'), 'utf8')) as {
      services: { api: { slots: { id: string; state: string; stopAt?: number }[] } };
    };
    expect(saved.services.api.slots.map((slot) => `${slot.id}:${slot.state}`)).toEqual([
      'slot-a:previous',
      'slot-b:active',
    ]);

    const second = await gateway({ traffic: { rollback: { window: 60_000 } } });
    const after = second.traffic.service('api');
    expect(after.active).toEqual(before.active);
    expect(after.rollback).toEqual(before.rollback);
    await waitFor(
      async () => (await servedVersion(second)) === 'v2',
      'v2 served after the restart',
    );
    await waitForService(
      second,
      (view) => view.slots.every((slot) => slot.passing > 0),
      'both releases back',
    );
    expect((await api(second, 'POST', '/rollback', {})).status).toBe(200);
    expect(await servedVersion(second)).toBe('v1');
  });

  it('deploys initialVersion on a first run only', async () => {
    const first = await gateway({ service: { initialVersion: 'v1' } });
    await waitForService(first, (view) => view.active?.version === 'v1', 'initial v1 active');
    expect(first.traffic.history('api', 10).at(-1)).toMatchObject({
      to: 'starting',
      actor: 'system',
      reason: 'deploy v1',
    });
    await activeV1CandidateV2AfterV1(first);
    await api(first, 'POST', '/promote', {});
    await first.stop();
    gateways.splice(gateways.indexOf(first), 1);
    // The saved state wins over initialVersion: v2 stays active.
    const second = await gateway({ service: { initialVersion: 'v1' } });
    expect(second.traffic.service('api').active?.version).toBe('v2');
    await waitFor(
      async () => (await servedVersion(second)) === 'v2',
      'v2 served after the restart',
    );
  });

  it('answers bad requests with problem+json', async () => {
    const started = await gateway();
    const badVersion = await api(started, 'POST', '/deploy', {
      service: 'api',
      version: '../../etc; rm -rf',
    });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body).toMatchObject({ code: 'TRAFFIC_INVALID_REQUEST' });
    expect(String(badVersion.body.detail)).toContain('version');
    // Only what every orchestrator carries: an image tag and a Kubernetes label value.
    for (const version of ['1.0.0+build.5', 'x'.repeat(64), 'v2-']) {
      const refused = await api(started, 'POST', '/deploy', { service: 'api', version });
      expect(refused).toMatchObject({ status: 400, body: { code: 'TRAFFIC_INVALID_REQUEST' } });
      expect(String(refused.body.detail)).toContain('at most 63 letters, digits');
    }
    const unknown = await api(started, 'POST', '/promote', { service: 'nope' });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'TRAFFIC_SERVICE_NOT_FOUND' } });
    const extra = await api(started, 'POST', '/abort', { service: 'api', surprise: true });
    expect(extra.status).toBe(400);
    const nothing = await api(started, 'POST', '/abort', {});
    expect(nothing).toMatchObject({ status: 409, body: { code: 'TRAFFIC_NOTHING_TO_ABORT' } });
    const slot = await api(started, 'GET', '/services/api/slots/slot-z/logs');
    expect(slot).toMatchObject({ status: 404, body: { code: 'TRAFFIC_SLOT_NOT_FOUND' } });
    const limit = await api(started, 'GET', '/history?limit=abc');
    expect(limit.status).toBe(400);
  });

  it('contributes a Traffic page: slot cards with per-card actions, a deploy form, confirmed switches, the history', async () => {
    const started = await gateway();
    const contribution = started.app.context
      .ui()
      .find((entry) => entry.plugin === 'traffic')!.contribution;
    const page = contribution.pages![0];
    expect(page).toMatchObject({ id: 'traffic', route: '/traffic', icon: 'traffic' });
    const [cards, form, switches, history, releases] = page.views;
    expect(page.views.map((view) => view.kind)).toEqual([
      'cards',
      'form',
      'actions',
      'table',
      'table',
    ]);
    if (
      cards.kind !== 'cards' ||
      form.kind !== 'form' ||
      switches.kind !== 'actions' ||
      history.kind !== 'table' ||
      releases.kind !== 'table'
    )
      throw new Error('unexpected views');
    // The cards draw the colour the slot views carry, and each action only where it applies.
    expect(cards).toMatchObject({
      endpoint: '/cpanel/api/traffic/slots',
      itemsPath: 'slots',
      titleKey: 'id',
      colourKey: 'colour',
      badgeKey: 'state',
    });
    expect(
      cards.actions!.map((action) => [
        action.label,
        action.endpoint,
        action.when?.in,
        Boolean(action.confirm),
      ]),
    ).toEqual([
      ['Promote', '/cpanel/api/traffic/promote', ['candidate'], true],
      ['Roll back', '/cpanel/api/traffic/rollback', ['previous'], true],
      ['Abort', '/cpanel/api/traffic/abort', ['starting', 'candidate'], true],
    ]);
    expect(
      cards.actions!.every((action) => JSON.stringify(action.body) === '{"service":"{service}"}'),
    ).toBe(true);
    expect(form.action).toBe('/cpanel/api/traffic/deploy');
    expect(form.schema).toMatchObject({
      required: ['version'],
      properties: { version: { type: 'string', pattern: expect.any(String) } },
    });
    expect(
      switches.actions.map((action) => [action.label, action.endpoint, Boolean(action.confirm)]),
    ).toEqual([
      ['Promote', '/cpanel/api/traffic/promote', true],
      ['Roll back', '/cpanel/api/traffic/rollback', true],
    ]);
    // Every endpoint the page reads answers with the array its view expects.
    const slots = (await (await fetch(`${started.url}${cards.endpoint}`)).json()) as {
      slots: { colour: string }[];
    };
    expect(slots.slots.map((slot) => slot.colour)).toEqual(['grey', 'grey']);
    const rows = (await (await fetch(`${started.url}${history.endpoint}`)).json()) as Record<
      string,
      unknown
    >;
    expect(Array.isArray(rows[history.rowsPath!])).toBe(true);
    // The process orchestrator runs uploaded releases: the page lists them.
    expect(releases.endpoint).toBe('/cpanel/api/traffic/releases/api');
    const uploaded = (await (await fetch(`${started.url}${releases.endpoint}`)).json()) as Record<
      string,
      unknown
    >;
    expect(uploaded[releases.rowsPath!]).toEqual([]);
    // The form's pattern is the API's rule, and valid for a browser's input pattern (the v flag).
    const pattern = new RegExp(
      `^(?:${String((form.schema.properties as { version: { pattern: string } }).version.pattern)})$`,
      'v',
    );
    expect(['v2', '1.4.0-rc.1'].every((value) => pattern.test(value))).toBe(true);
    expect(pattern.test('../x')).toBe(false);
    expect(pattern.test('1.0.0+build')).toBe(false);
    const refused = await api(started, 'POST', '/deploy', { version: '-v2' });
    expect(refused.status).toBe(400);
  });
});

describe('dev (red) slots', () => {
  it('stops an idle dev release and wakes it on the next request, which waits for it', async () => {
    const started = await gateway({
      service: { dev: true, idleTimeout: 600, wakeTimeout: 10_000 },
    });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(
      started,
      (view) => slotState(view, 'slot-a') === 'dev',
      'dev slot running',
    );
    expect(await servedVersion(started)).toBe('v1');
    await waitForService(
      started,
      (view) => view.slots[0].asleep === true,
      'dev slot asleep',
      5_000,
    );
    await waitFor(() => portClosed(ports[0]), 'dev release process exited');
    // The request that wakes it waits for the release and gets its answer.
    expect(await servedVersion(started)).toBe('v1');
    expect(slotState(started.traffic.service('api'), 'slot-a')).toBe('dev');
    expect(started.traffic.history('api', 3).map((t) => t.reason)).toContain(
      'a request arrived while asleep',
    );
  });

  it('answers 503 when a sleeping dev release does not come up within wakeTimeout', async () => {
    const started = await gateway({ service: { dev: true, idleTimeout: 600, wakeTimeout: 500 } });
    await api(started, 'POST', '/deploy', { version: 'v1' });
    await waitForService(
      started,
      (view) => slotState(view, 'slot-a') === 'dev',
      'dev slot running',
    );
    await waitForService(
      started,
      (view) => view.slots[0].asleep === true,
      'dev slot asleep',
      5_000,
    );
    await waitFor(() => portClosed(ports[0]), 'dev release process exited');
    // Something else took the port: the release cannot start, the waiting request is told to retry.
    const blocker = (await import('node:net')).createServer();
    await new Promise<void>((resolve) => blocker.listen(ports[0], '127.0.0.1', resolve));
    try {
      const response = await fetch(`${started.url}/api/v1/hello`);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(await response.json()).toMatchObject({ code: 'TRAFFIC_SERVICE_WAKING' });
    } finally {
      blocker.close();
    }
  });
});
