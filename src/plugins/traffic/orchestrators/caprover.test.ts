import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/http.js';
import { freePorts } from '../../../../test/support/ports.js';
import { CaproverOrchestrator } from './caprover.js';
import { captainLogLines } from './caprover-logs.js';
import { caproverOrchestratorSchema, type CaproverOrchestratorConfig } from './options.js';
import { releaseImages } from './test-support/caprover-images.js';
import { CaproverStandIn } from './test-support/caprover-stand-in.js';

/**
 * The CapRover orchestrator against the stand-in (CapRover itself needs Docker Hub): the API
 * shapes the real server has, and what its full-replace update does to a careless caller.
 */

const logger = pino({ level: 'silent' });
const layout = [{ name: 'api', slots: ['slot-a', 'slot-b'] }];
const PASSWORD = 'captain42';
let captain: CaproverStandIn;

const orchestrator = (options: Partial<CaproverOrchestratorConfig> = {}) =>
  new CaproverOrchestrator(
    caproverOrchestratorSchema.parse({
      type: 'caprover',
      url: captain.url,
      password: PASSWORD,
      image: 'registry.example.com/api:{version}',
      pollInterval: 20,
      ...options,
    }),
    layout,
    logger,
  );

/** Calls the stand-in directly, as the dashboard would. */
async function dashboard(method: string, path: string, body?: unknown) {
  const token = captain.issueToken();
  const response = await fetch(`${captain.url}/api/v2${path}`, {
    method,
    headers: {
      'x-namespace': 'captain',
      'x-captain-auth': token,
      'content-type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    http: response.status,
    ...((response.ok ? await response.json() : {}) as { status?: number; data?: unknown }),
  };
}

const definition = (app: string) => captain.apps.get(app)!.definition;

beforeEach(async () => {
  captain = await new CaproverStandIn({ password: PASSWORD, images: releaseImages }).start();
});
afterEach(() => captain.close());

describe('caprover orchestrator (CapRover /api/v2)', () => {
  it('registers one app per slot once, configures it, deploys the image and waits for the build', async () => {
    const caprover = orchestrator({ env: { MODE: 'shop-{slot}' } });
    const { target } = await caprover.start({ service: 'api', slot: 'slot-b', version: 'v2' });
    expect(target).toBe('http://srv-captain--api-slot-b:3000');
    expect(definition('api-slot-b')).toMatchObject({
      instanceCount: 1,
      containerHttpPort: 3000,
      notExposeAsWebApp: true,
      envVars: [
        { key: 'MODE', value: 'shop-slot-b' },
        { key: 'PORT', value: '3000' },
      ],
      deployedVersion: 0,
    });
    // start() returned after CapRover's build finished, not merely after it began.
    expect(captain.apps.get('api-slot-b')?.deployedImages).toEqual(['registry.example.com/api:v2']);
    await caprover.start({ service: 'api', slot: 'slot-b', version: 'v3' });
    expect(captain.apps.get('api-slot-b')?.deployedImages).toEqual([
      'registry.example.com/api:v2',
      'registry.example.com/api:v3',
    ]);
    const paths = captain.requests.map((request) => `${request.method} ${request.path}`);
    expect(paths.filter((path) => path.endsWith('/appDefinitions/register'))).toHaveLength(1);
    expect(paths).toContain('POST /api/v2/user/apps/appData/api-slot-b?detached=1');
    expect(paths).toContain('GET /api/v2/user/apps/appData/api-slot-b');
    expect(captain.requests.every((request) => request.namespace === 'captain')).toBe(true);
    expect(captain.logins).toBe(1);
  });

  it('leaves an app running the same image with the same settings alone, and changes only what differs', async () => {
    await orchestrator().start({ service: 'api', slot: 'slot-a', version: 'v1' });
    const pid = captain.apps.get('api-slot-a')!.service.pid;
    const before = captain.requests.length;
    // A gateway restart starts its slots again: nothing to change, nothing replaced.
    await orchestrator().start({ service: 'api', slot: 'slot-a', version: 'v1' });
    const calls = () =>
      captain.requests
        .slice(before)
        .filter((request) => request.method !== 'GET' && request.path !== '/api/v2/login');
    expect(calls()).toEqual([]);
    expect(captain.apps.get('api-slot-a')!.service.pid).toBe(pid);
    // New settings, same image: an update, no deploy.
    await orchestrator({ env: { LOG_LEVEL: 'debug' } }).start({
      service: 'api',
      slot: 'slot-a',
      version: 'v1',
    });
    expect(calls().map((request) => request.path)).toEqual([
      '/api/v2/user/apps/appDefinitions/update',
    ]);
    expect(captain.apps.get('api-slot-a')!.deployedImages).toEqual(['registry.example.com/api:v1']);
  });

  it('stops by sending the whole definition back: env vars, port, exposure and dashboard settings survive', async () => {
    const [hostPort] = await freePorts(1);
    const caprover = orchestrator({ publishPorts: [hostPort, hostPort + 1] });
    await caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    // Settings someone made in the dashboard, which the orchestrator knows nothing of.
    const mine = structuredClone(definition('api-slot-a'));
    mine.envVars.push({ key: 'DATABASE_URL', value: 'postgres://db/shop' });
    expect(
      await dashboard('POST', '/user/apps/appDefinitions/update', {
        ...mine,
        appName: 'api-slot-a',
        description: 'the shop API',
        customNginxConfig: '# tuned',
      }),
    ).toMatchObject({ http: 200, status: 100 });

    await caprover.stop({ service: 'api', slot: 'slot-a' });
    expect(definition('api-slot-a')).toMatchObject({
      instanceCount: 0,
      containerHttpPort: 3000,
      notExposeAsWebApp: true,
      description: 'the shop API',
      customNginxConfig: '# tuned',
      ports: [{ containerPort: 3000, hostPort }],
      envVars: [
        { key: 'PORT', value: '3000' },
        { key: 'DATABASE_URL', value: 'postgres://db/shop' },
      ],
    });
    expect(await caprover.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'stopped',
      detail: 'scaled to 0 instances',
    });
    // Deployed again: the dashboard's variable is still there beside the orchestrator's.
    await caprover.start({ service: 'api', slot: 'slot-a', version: 'v2' });
    expect(definition('api-slot-a').envVars).toEqual([
      { key: 'PORT', value: '3000' },
      { key: 'DATABASE_URL', value: 'postgres://db/shop' },
    ]);
    expect(definition('api-slot-a').instanceCount).toBe(1);
  });

  it('runs the app behind its published port and reads its log as a demultiplexed stream', async () => {
    const [hostPort] = await freePorts(1);
    const caprover = orchestrator({
      publishPorts: { from: hostPort, step: 1 },
      targetTemplate: 'http://127.0.0.1:{hostport}',
    });
    const { target } = await caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(target).toBe(`http://127.0.0.1:${hostPort}`);
    let answer: { version?: string } = {};
    await waitFor(async () => {
      answer = await fetch(`${target}/api/v1/hello`)
        .then((response) => response.json() as Promise<typeof answer>)
        .catch(() => ({}));
      return answer.version === 'v1';
    }, 'v1 answering behind its published port');
    expect(await caprover.status({ service: 'api', slot: 'slot-a' })).toEqual({
      state: 'running',
      detail: '1 instance(s), deployed version 0',
    });
    captain.apps.get('api-slot-a')!.service.crash();
    await waitFor(
      async () => (await caprover.logs({ service: 'api', slot: 'slot-a' }, 10)).length >= 3,
      'the restart in the log',
    );
    const lines = await caprover.logs({ service: 'api', slot: 'slot-a' }, 10);
    expect(lines[0]).toMatch(/^release v1 listening on 127\.0\.0\.1:\d+$/);
    expect(lines[1]).toBe('container exited (SIGKILL); restarting');
    expect(await caprover.logs({ service: 'api', slot: 'slot-a' }, 1)).toHaveLength(1);
  });

  it('logs in again once when CapRover no longer accepts its token, and retries the call', async () => {
    const caprover = orchestrator();
    await caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(captain.logins).toBe(1);
    captain.expireTokens();
    const before = captain.requests.length;
    await caprover.stop({ service: 'api', slot: 'slot-a' });
    expect(captain.logins).toBe(2);
    expect(definition('api-slot-a').instanceCount).toBe(0);
    expect(
      captain.requests.slice(before).map((request) => `${request.method} ${request.path}`),
    ).toEqual([
      'GET /api/v2/user/apps/appDefinitions',
      'POST /api/v2/login',
      'GET /api/v2/user/apps/appDefinitions',
      'POST /api/v2/user/apps/appDefinitions/update',
    ]);
  });

  it('says what to do when a configured token is refused and there is no password', async () => {
    const caprover = orchestrator({ password: undefined, token: 'expired' });
    const failure = caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    await expect(failure).rejects.toMatchObject({
      status: 502,
      code: 'TRAFFIC_CAPROVER_AUTH_FAILED',
      message:
        'CapRover refused the configured token (status 1106: Auth token corrupted): set a fresh orchestrator.token (CAPROVER_TOKEN), or orchestrator.password so the gateway logs in itself.',
    });
    // A token CapRover issued works without ever logging in.
    const withToken = orchestrator({ password: undefined, token: captain.issueToken() });
    await withToken.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    expect(captain.logins).toBe(0);
    expect(captain.requests.some((request) => request.path === '/api/v2/login')).toBe(false);
  });

  it('maps a wrong password, a failed build and an unreachable server to their problem codes', async () => {
    await expect(
      orchestrator({ password: 'nope' }).start({ service: 'api', slot: 'slot-a', version: 'v1' }),
    ).rejects.toMatchObject({
      code: 'TRAFFIC_CAPROVER_AUTH_FAILED',
      message: 'CapRover login failed (status 1105): Password is incorrect.',
    });
    await expect(
      orchestrator({ image: 'registry.example.com/missing:{version}' }).start({
        service: 'api',
        slot: 'slot-a',
        version: 'v1',
      }),
    ).rejects.toMatchObject({
      code: 'TRAFFIC_CAPROVER_DEPLOY_FAILED',
      message:
        'CapRover could not deploy registry.example.com/missing:v1 to api-slot-a: ---------------------- / Deploy failed! / Error: (HTTP code 404) unexpected - manifest for registry.example.com/missing:v1 not found: manifest unknown',
    });
    const [closed] = await freePorts(1);
    const url = `http://127.0.0.1:${closed}`;
    await expect(
      orchestrator({ url }).start({ service: 'api', slot: 'slot-a', version: 'v1' }),
    ).rejects.toMatchObject({
      code: 'TRAFFIC_CAPROVER_UNREACHABLE',
      message: `CapRover at ${url} could not be reached (POST /login: ECONNREFUSED); check orchestrator.url (CAPROVER_URL).`,
    });
  });

  it('waits while CapRover is busy with another change (HTTP 429) and then makes its own', async () => {
    const caprover = orchestrator();
    await caprover.start({ service: 'api', slot: 'slot-a', version: 'v1' });
    // An attached deploy holds CapRover's one-change-at-a-time lock until its build is done.
    const slow = new CaproverStandIn({ password: PASSWORD, images: releaseImages, buildTime: 400 });
    await slow.start();
    try {
      const busy = orchestrator({ url: slow.url });
      await busy.start({ service: 'api', slot: 'slot-a', version: 'v1' });
      const token = slow.issueToken();
      const holding = fetch(`${slow.url}/api/v2/user/apps/appData/api-slot-a`, {
        method: 'POST',
        headers: { 'x-captain-auth': token, 'content-type': 'application/json' },
        body: JSON.stringify({
          captainDefinitionContent: '{"schemaVersion":2,"imageName":"api:v9"}',
        }),
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await busy.stop({ service: 'api', slot: 'slot-a' });
      expect((await (await holding).json()) as unknown).toMatchObject({ status: 100 });
      expect(slow.apps.get('api-slot-a')?.definition.instanceCount).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('needs a url, and a token or a password, naming both when both are missing', () => {
    const result = caproverOrchestratorSchema.safeParse({
      type: 'caprover',
      url: undefined,
      token: undefined,
    });
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      [
        'url',
        'the CapRover dashboard URL, e.g. "https://captain.example.com" (is CAPROVER_URL set?)',
      ],
      [
        'token',
        'a CapRover token (is CAPROVER_TOKEN set?) or password, so the gateway can call its API',
      ],
    ]);
  });
});

describe('the stand-in follows CapRover', () => {
  it('POST update replaces the whole definition; PATCH (1.15+) merges; older servers have no PATCH', async () => {
    await dashboard('POST', '/user/apps/appDefinitions/register', { appName: 'shop' });
    await dashboard('POST', '/user/apps/appDefinitions/update', {
      appName: 'shop',
      instanceCount: 2,
      containerHttpPort: 3000,
      notExposeAsWebApp: true,
      envVars: [{ key: 'A', value: '1' }],
    });
    expect(
      await dashboard('PATCH', '/user/apps/appDefinitions/update', {
        appName: 'shop',
        instanceCount: 0,
      }),
    ).toMatchObject({ status: 100 });
    expect(definition('shop')).toMatchObject({
      instanceCount: 0,
      containerHttpPort: 3000,
      notExposeAsWebApp: true,
      envVars: [{ key: 'A', value: '1' }],
    });
    await dashboard('POST', '/user/apps/appDefinitions/update', {
      appName: 'shop',
      instanceCount: 1,
    });
    expect(definition('shop')).toMatchObject({
      instanceCount: 1,
      containerHttpPort: 80,
      notExposeAsWebApp: false,
      envVars: [],
    });
    const old = await new CaproverStandIn({
      password: PASSWORD,
      images: releaseImages,
      version: '1.14.1',
    }).start();
    try {
      const response = await fetch(`${old.url}/api/v2/user/apps/appDefinitions/update`, {
        method: 'PATCH',
        headers: { 'x-captain-auth': old.issueToken(), 'content-type': 'application/json' },
        body: JSON.stringify({ appName: 'shop' }),
      });
      expect(response.status).toBe(404);
    } finally {
      await old.close();
    }
  });

  it('answers envelopes: unknown namespace, invalid token, name rules, duplicates, missing apps', async () => {
    const other = await fetch(`${captain.url}/api/v2/user/apps/appDefinitions`, {
      headers: { 'x-namespace': 'other' },
    });
    expect(await other.json()).toEqual({
      status: 1000,
      description: 'Namespace unknown',
      data: {},
    });
    const anonymous = await fetch(`${captain.url}/api/v2/user/apps/appDefinitions`);
    expect(await anonymous.json()).toMatchObject({ status: 1106 });
    expect(
      await dashboard('POST', '/user/apps/appDefinitions/register', { appName: 'Bad--Name' }),
    ).toMatchObject({ status: 1104 });
    await dashboard('POST', '/user/apps/appDefinitions/register', { appName: 'shop' });
    expect(
      await dashboard('POST', '/user/apps/appDefinitions/register', { appName: 'shop' }),
    ).toMatchObject({ status: 1103 });
    expect(
      await dashboard('POST', '/user/apps/appDefinitions/update', { appName: 'nope' }),
    ).toMatchObject({ status: 1000 });
    expect(await dashboard('POST', '/user/apps/appData/shop?detached=1', {})).toMatchObject({
      status: 1108,
    });
  });

  it('hands logs back framed: demultiplexing them keeps every line, stderr and multibyte text included', () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const long = 'x'.repeat(300);
    const stream = Buffer.concat([
      frame(1, '2026-12-01T17:00:00.123456789Z listening\n'),
      frame(2, `2026-12-01T17:00:01.000000000Z ${long}\n`),
      frame(1, '2026-12-01T17:00:02.5Z naïve ☕\n'),
    ]);
    expect(captainLogLines(stream.toString('hex'))).toEqual(['listening', long, 'naïve ☕']);
    // A TTY app's log is not framed: plain lines.
    expect(captainLogLines(Buffer.from('one\ntwo\n').toString('hex'))).toEqual(['one', 'two']);
  });
});
