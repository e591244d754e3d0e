import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlPanelPlugin } from '../plugins/control-panel/index.js';
import type { SlotView } from '../plugins/traffic/index.js';
import {
  freePorts,
  servedVersion,
  startTrafficGateway,
  type TrafficGateway,
} from '../plugins/traffic/test-support/gateway.js';
import { formatService, progressLine } from './format.js';
import { cli } from './test-support/run-cli.js';

const PASSWORD = 'correct-horse-battery';

let directory: string;
let gateway: TrafficGateway;
let credentials: Record<string, string>;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'traffic-cli-'));
  // The real control panel guard: the CLI must authenticate as scripts do, with Basic credentials.
  const uiDir = path.join(directory, 'ui');
  await mkdir(uiDir);
  await writeFile(path.join(uiDir, 'index.html'), '<!doctype html><title>panel</title>');
  gateway = await startTrafficGateway({
    ports: await freePorts(2),
    statePath: path.join(directory, 'state.json'),
    plugins: [createControlPanelPlugin({ user: 'ops', password: PASSWORD, uiDir })],
    // A crash-* release exits this soon after it starts: before it can pass two health checks,
    // however slowly the machine starts it.
    releaseEnv: { CRASH_AFTER: '50' },
  });
  credentials = { QWICKAPPS_URL: gateway.url, ADMIN_USER: 'ops', ADMIN_PASSWORD: PASSWORD };
});

afterAll(async () => {
  await gateway?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe('qwickapps CLI', () => {
  it('walks a whole cycle: deploy v1, deploy v2 with progress, promote, status, rollback, history', async () => {
    const first = await cli(['deploy', 'api', 'v1', '--interval', '100'], credentials);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Deploying api v1 to slot-a...');
    expect(first.stdout).toContain('v1 is active in slot-a.');
    expect(await servedVersion(gateway)).toBe('v1');

    const second = await cli(['deploy', 'api', 'v2', '--interval', '50', '--json'], credentials);
    expect(second.code).toBe(0);
    // Progress on stderr while it waits for health; one JSON document on stdout.
    expect(second.stderr).toMatch(/Deploying api v2 to slot-b\.\.\.\nslot-b: /);
    expect(second.stderr).toContain('slot-b: healthy, ');
    // The shown count stops at the required two checks; the last line says it is promotable.
    const counts = [...second.stderr.matchAll(/healthy, (\d+)\/(\d+) checks/g)].map((match) => [
      Number(match[1]),
      Number(match[2]),
    ]);
    expect(counts.length).toBeGreaterThan(0);
    expect(counts.every(([shown, required]) => required === 2 && shown <= 2)).toBe(true);
    expect(second.stderr).toContain('slot-b: healthy, 2/2 checks, promotable\n');
    expect(second.stderr).toContain(
      'v2 is healthy in slot-b; promote it with: qwickapps promote api',
    );
    const deployed = JSON.parse(second.stdout) as {
      slots: { id: string; state: string; eligible: boolean }[];
    };
    expect(deployed.slots.find((slot) => slot.id === 'slot-b')).toMatchObject({
      state: 'candidate',
      eligible: true,
    });

    const promoted = await cli(['promote', 'api'], credentials);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toMatch(
      /^api: slot-b \(v2\) is active; slot-a \(v1\) is warm for rollback until \d\d:\d\d:\d\d\n$/,
    );
    expect(await servedVersion(gateway)).toBe('v2');

    const status = await cli(['status'], credentials);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('api  route api');
    expect(status.stdout).toMatch(/active {4}slot-b v2 {2}http:\/\/127\.0\.0\.1:\d+/);
    expect(status.stdout).toMatch(/slot-a +● previous +v1 /);
    expect(status.stdout).toMatch(/slot-b +● active +v2 /);
    const statusJson = JSON.parse((await cli(['status', 'api', '--json'], credentials)).stdout) as {
      services: { name: string; active: { version: string } }[];
    };
    expect(statusJson.services).toHaveLength(1);
    expect(statusJson.services[0]).toMatchObject({ name: 'api', active: { version: 'v2' } });

    const rolledBack = await cli(['rollback', 'api', '--json'], credentials);
    expect(rolledBack.code).toBe(0);
    expect(JSON.parse(rolledBack.stdout)).toMatchObject({
      active: { slot: 'slot-a', version: 'v1' },
    });
    expect(await servedVersion(gateway)).toBe('v1');

    const history = await cli(['history', 'api', '--limit', '2'], credentials);
    expect(history.code).toBe(0);
    const lines = history.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/api +slot-b +v2 +active -> candidate +ops +rolled back to slot-a/);
    expect(lines[2]).toMatch(/api +slot-a +v1 +previous -> active +ops +rolled back on request/);
  });

  it('reports a refused command with its code and exit status 1, as text and as JSON', async () => {
    // After the cycle above v1 is active again and nothing is warm behind it.
    const refused = await cli(['rollback', 'api'], credentials);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'qwickapps: api has no previous release inside its rollback window. [TRAFFIC_NO_PREVIOUS]\n',
    );
    const json = await cli(['--json', 'promote', 'nope'], credentials);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { status: 404, code: 'TRAFFIC_SERVICE_NOT_FOUND' },
    });
  });

  it('fails a deploy whose release crashes, naming the reason', async () => {
    const run = await cli(['deploy', 'api', 'crash-v3', '--interval', '50'], credentials);
    expect(run.code).toBe(1);
    // The exit usually arrives first; on a loaded machine failing checks may beat it.
    expect(run.stderr).toMatch(
      /^qwickapps: crash-v3 failed in slot-b: (process exited: exit code 1|failed 2 consecutive health checks: .*ECONNREFUSED)\.\n$/,
    );
  });

  it('asks for credentials on 401 and explains an unreachable gateway (exit status 2)', async () => {
    const unauthenticated = await cli(['status'], { QWICKAPPS_URL: gateway.url });
    expect(unauthenticated.code).toBe(1);
    expect(unauthenticated.stderr).toContain(
      '[CPANEL_UNAUTHENTICATED] Set QWICKAPPS_TOKEN (or --token), or ADMIN_USER and ADMIN_PASSWORD.',
    );
    const wrong = await cli(['status', '--url', gateway.url], {
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'not-the-password',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('[CPANEL_CREDENTIALS_INVALID]');
    const [closed] = await freePorts(1);
    const unreachable = await cli(['status', '--url', `http://127.0.0.1:${closed}`]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toBe(
      `qwickapps: Cannot reach the gateway at http://127.0.0.1:${closed} (ECONNREFUSED). Is it running? Set --url or QWICKAPPS_URL.\n`,
    );
  });

  it('validates its own arguments before calling anything', async () => {
    const run = await cli(['deploy', 'api', 'v9', '--timeout', 'soon'], credentials);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "option '--timeout <ms>' argument 'soon' is invalid. a whole number of at least 1",
    );
  });
});

describe('deploy progress lines', () => {
  const now = Date.parse('2025-01-02T03:04:05Z');
  const candidate = (patch: Partial<SlotView>): SlotView => ({
    service: 'api',
    id: 'slot-b',
    state: 'candidate',
    colour: 'yellow',
    version: 'v2',
    since: new Date(now - 5_000).toISOString(),
    passing: 0,
    requiredChecks: 3,
    failing: 0,
    eligible: false,
    ...patch,
  });

  it('counts checks up to the number required and says what is still awaited', () => {
    expect(
      progressLine(candidate({ passing: 1, eligibleAt: new Date(now + 2_000).toISOString() }), now),
    ).toBe('slot-b: healthy, 1/3 checks, promotable in 2 s');
    // More passing checks than required while the promotion delay runs: never "4/3".
    expect(
      progressLine(candidate({ passing: 4, eligibleAt: new Date(now + 3_400).toISOString() }), now),
    ).toBe('slot-b: healthy, 3/3 checks, promotable in 4 s');
    expect(
      progressLine(
        candidate({ passing: 7, eligible: true, eligibleAt: new Date(now).toISOString() }),
        now,
      ),
    ).toBe('slot-b: healthy, 3/3 checks, promotable');
    expect(
      progressLine(candidate({ passing: 3, eligibleAt: new Date(now - 100).toISOString() }), now),
    ).toBe('slot-b: healthy, 3/3 checks, promotable shortly');
    expect(progressLine(candidate({ failing: 1, message: 'HTTP 500' }), now)).toBe(
      'slot-b: 1 failing check (HTTP 500), the count starts again',
    );
    expect(
      progressLine(
        candidate({
          state: 'starting',
          colour: 'yellow',
          target: 'http://127.0.0.1:3102',
          failing: 2,
        }),
        now,
      ),
    ).toBe('slot-b: starting v2 at http://127.0.0.1:3102 (waiting for its health endpoint)');
    expect(
      progressLine(
        candidate({ state: 'starting', colour: 'yellow', id: 'slot-a', version: 'v1', passing: 2 }),
        now,
      ),
    ).toBe('slot-a: healthy, 2/3 checks, active once all pass (first release)');
  });

  it('the status table shows a candidate the same way', () => {
    const slot = candidate({ passing: 5, eligible: true });
    const text = formatService(
      { name: 'api', route: 'api', dev: false, autoPromote: false, slots: [slot] },
      false,
    );
    expect(text).toMatch(/slot-b +● candidate +v2 +3\/3 checks, promotable$/m);
  });
});
