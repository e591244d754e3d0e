import { afterAll, afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { advisoryKey } from '../database/providers/lock.js';
import { SERVICES, serviceAvailable } from '../../../test/support/services.js';
import { uniqueName } from '../database/test-support/targets.js';
import { freePorts } from './test-support/gateway.js';
import {
  closeAgent,
  command,
  dump,
  hello,
  startReplica,
  timeUntilServes,
  waitForView,
  type Replica,
} from './test-support/replicas.js';

/**
 * Two gateway processes on one real PostgreSQL database, sharing the traffic state: one drives
 * the orchestrator, the other follows every switch; commands work through either; when the
 * driver dies the other finishes what it was doing.
 */

const hasPostgres = await serviceAvailable('postgres');
const replicas: Replica[] = [];
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.kill()));
});
afterAll(closeAgent);

async function pair(autoPromote = false): Promise<[Replica, Replica]> {
  const setup = {
    databaseUrl: SERVICES.postgres.url,
    table: uniqueName('traffic'),
    slotPorts: await freePorts(2),
    autoPromote,
  };
  const first = await startReplica('A', setup);
  replicas.push(first);
  // The first release comes up on the gateway that drives; the second joins once it is active.
  await waitForView(
    first,
    (view) =>
      view.active?.version === 'v1' &&
      view.slots.some((slot) => slot.state === 'active' && slot.passing > 0),
    'v1 active',
  );
  const second = await startReplica('B', setup);
  replicas.push(second);
  return [first, second];
}

const said = (replica: Replica, message: string) =>
  replica.logs.some((line) => line.msg === message);

/** Requests through every replica, four at a time each, until stopped; counts what failed. */
function load(targets: Replica[]) {
  let running = true;
  const failures: string[] = [];
  const versions = new Set<string>();
  let requests = 0;
  const worker = async (replica: Replica) => {
    while (running) {
      const answer = await hello(replica);
      requests++;
      if (answer.failure) failures.push(`${replica.name}: ${answer.failure}`);
      else versions.add(answer.version!);
    }
  };
  const workers = targets.flatMap((replica) => [1, 2, 3, 4].map(() => worker(replica)));
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { failures, versions, requests };
    },
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

describe.skipIf(!hasPostgres)('gateways as replicas on PostgreSQL', () => {
  it('one drives, the other follows every promote and rollback within a second, under load, through either gateway', async () => {
    const [a, b] = await pair();
    expect(said(a, 'this gateway drives the orchestrator now')).toBe(true);
    const ready = b.logs.find((line) => line.msg === 'traffic ready');
    expect(ready, dump(b.logs)).toMatchObject({ role: 'follower' });
    // The follower routes to the slot the shared state names, without starting one itself.
    expect(await hello(b)).toEqual({ version: 'v1' });
    // Health counts come with the state, within a second, though B checks nothing itself.
    await waitForView(
      b,
      (view) => view.slots.some((slot) => slot.state === 'active' && slot.passing > 2),
      'health counts seen by the follower',
      3_000,
    );
    // What the orchestrator knows of a slot comes from the gateway that runs it.
    const logs = await command(b, 'GET', '/services/api/slots/slot-a/logs');
    expect(logs.status).toBe(200);
    expect(logs.body).toMatchObject({ runtime: { state: 'running' } });
    expect(logs.body.lines).toContainEqual(expect.stringMatching(/^release v1 listening on/));

    const traffic = load([a, b]);
    // A deploy through the follower is carried out by the driver.
    const deployed = await command(b, 'POST', '/deploy', { service: 'api', version: 'v2' });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    expect(deployed.body.slots.find((slot) => slot.id === 'slot-b')).toMatchObject({
      state: 'starting',
      version: 'v2',
    });
    await waitForView(
      b,
      (view) => view.slots.some((slot) => slot.state === 'candidate' && slot.version === 'v2'),
      'v2 candidate seen by the follower',
    );
    // A refusal reads the same through the follower as through the driver.
    const early = await command(b, 'POST', '/rollback', { service: 'api' });
    expect(early).toMatchObject({ status: 409, body: { code: 'TRAFFIC_NO_PREVIOUS' } });

    await new Promise((resolve) => setTimeout(resolve, 400)); // the candidate's promotion delay
    const switches: number[] = [];
    const follows = (replica: Replica) =>
      replica.logs.filter((line) => line.msg === 'route follows the shared state');
    const [followedByA, followedByB] = [follows(a).length, follows(b).length];
    for (let round = 0; round < 10; round++) {
      // Promote through the driver, roll back through the follower: the other one follows.
      const promoteAt = performance.now();
      const promoted = await command(a, 'POST', '/promote', { service: 'api' });
      expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
      switches.push(await timeUntilServes(b, 'v2', promoteAt));
      const rollbackAt = performance.now();
      const rolledBack = await command(b, 'POST', '/rollback', { service: 'api' });
      expect(rolledBack.status, JSON.stringify(rolledBack.body)).toBe(200);
      expect(rolledBack.body.active).toMatchObject({ slot: 'slot-a', version: 'v1' });
      switches.push(await timeUntilServes(a, 'v1', rollbackAt));
      // A rolled-back candidate is promoted again only once it has passed its checks again.
      await waitForView(
        a,
        (view) => view.slots.some((slot) => slot.state === 'candidate' && slot.passing >= 2),
        'v2 healthy again',
      );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { failures, versions, requests } = await traffic.stop();
    // The other gateway's own account: from the switch made by the driver to its own switch.
    const lags = [...follows(a).slice(followedByA), ...follows(b).slice(followedByB)].map(
      (line) => line.lag as number,
    );
    console.log(
      `replica switch over ${switches.length} switches under load (${requests} requests, ${failures.length} failed): ` +
        `command sent to one gateway → the other answers with the new version p50 ${median(switches).toFixed(1)} ms, max ${Math.max(...switches).toFixed(1)} ms; ` +
        `switch made by the driver → made by the follower p50 ${median(lags)} ms, max ${Math.max(...lags)} ms`,
    );
    expect(lags).toHaveLength(20);
    expect(failures).toEqual([]);
    expect([...versions].sort()).toEqual(['v1', 'v2']);
    expect(Math.max(...switches)).toBeLessThan(1_000);
    // Every release ran under the driver: the follower never started one.
    expect(b.logs.filter((line) => line.msg === 'process started')).toEqual([]);
    expect(a.logs.filter((line) => line.msg === 'process started').length).toBe(2);
  }, 120_000);

  it('when the driving gateway dies during a deploy, the other takes over and completes it', async () => {
    const [a, b] = await pair(true);
    const deployed = await command(a, 'POST', '/deploy', { service: 'api', version: 'v2' });
    expect(deployed.status).toBe(202);
    await a.kill();
    // The deploy was under way when its driver died: not yet the active release.
    const before = await waitForView(
      b,
      (view) => view.slots.some((slot) => slot.version === 'v2'),
      'v2 deploy seen',
    );
    expect(before.active).toMatchObject({ version: 'v1' });

    const view = await waitForView(
      b,
      (current) => current.active?.version === 'v2',
      'v2 promoted by the gateway that took over',
    );
    expect(said(b, 'this gateway drives the orchestrator now')).toBe(true);
    expect(view.slots.find((slot) => slot.id === 'slot-a')).toMatchObject({
      state: 'previous',
      version: 'v1',
    });
    expect(await hello(b)).toEqual({ version: 'v2' });
    // B restarted both releases A's death took with it, and drives them: a rollback works.
    expect(b.logs.filter((line) => line.msg === 'process started').length).toBe(2);
    const rolledBack = await command(b, 'POST', '/rollback', { service: 'api' });
    expect(rolledBack.status, JSON.stringify(rolledBack.body)).toBe(200);
    expect(await timeUntilServes(b, 'v1', performance.now())).toBeLessThan(1_000);
  }, 120_000);

  it('a command waits for a driving gateway: refused after commandTimeout when none, carried out by the one that takes the lock', async () => {
    const table = uniqueName('traffic');
    // Someone else holds the lock: the replica can only follow.
    const holder = new pg.Client({ connectionString: SERVICES.postgres.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [
        advisoryKey(`lock:traffic::${table}`),
      ]);
      const replica = await startReplica('C', {
        databaseUrl: SERVICES.postgres.url,
        table,
        slotPorts: await freePorts(2),
        extraEnv: { COMMAND_TIMEOUT: '600' },
      });
      replicas.push(replica);
      expect(replica.logs.find((line) => line.msg === 'traffic ready')).toMatchObject({
        role: 'follower',
      });
      const refused = await command(replica, 'POST', '/deploy', { service: 'api', version: 'v2' });
      expect(refused).toMatchObject({ status: 503, body: { code: 'TRAFFIC_NO_LEADER' } });
      // Nothing ran meanwhile: the follower started nothing.
      expect(replica.logs.filter((line) => line.msg === 'process started')).toEqual([]);

      // The lock comes free while a command waits: the replica takes over and answers it.
      const pending = command(replica, 'POST', '/promote', { service: 'api' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await holder.query('SELECT pg_advisory_unlock_all()');
      const answered = await pending;
      expect(answered.status).toBe(409);
      expect(answered.body.code).toMatch(/^TRAFFIC_(FIRST_RELEASE|NOT_HEALTHY)$/);
      await waitForView(replica, (view) => view.active?.version === 'v1', 'v1 active');
      expect(said(replica, 'this gateway drives the orchestrator now')).toBe(true);
    } finally {
      await holder.end();
    }
  }, 60_000);

  it('a follower whose notification connection was cut reloads the state when it is back', async () => {
    const [a, b] = await pair();
    await command(a, 'POST', '/deploy', { service: 'api', version: 'v2' });
    await waitForView(
      a,
      (view) => view.slots.some((slot) => slot.state === 'candidate' && slot.passing >= 2),
      'v2 candidate',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Every LISTEN connection on the channel is ended by the server, then A promotes at once:
    // B cannot hear of it, and finds it when it reconnects.
    const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
    await admin.connect();
    try {
      const cut = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN "traffic_%'`,
      );
      expect(cut.rowCount).toBeGreaterThanOrEqual(2);
    } finally {
      await admin.end();
    }
    expect((await command(a, 'POST', '/promote', { service: 'api' })).status).toBe(200);
    await timeUntilServes(b, 'v2', performance.now(), 5_000);
    await waitForView(b, () => said(b, 'notification connection back'), 'B reconnected');
  }, 60_000);

  it('a driver whose lock session is cut (a database restart) takes the lock back and carries on without restarting its releases', async () => {
    const table = uniqueName('traffic');
    const replica = await startReplica('D', {
      databaseUrl: SERVICES.postgres.url,
      table,
      slotPorts: await freePorts(2),
    });
    replicas.push(replica);
    await waitForView(
      replica,
      (view) => view.slots.some((slot) => slot.state === 'active' && slot.passing > 0),
      'v1 active',
    );
    const traffic = load([replica]);
    const key = BigInt(advisoryKey(`lock:traffic::${table}`));
    const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
    await admin.connect();
    try {
      const cut = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::oid AND objid = $2::oid`,
        [String((key >> 32n) & 0xffffffffn), String(key & 0xffffffffn)],
      );
      expect(cut.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    await waitForView(
      replica,
      () => said(replica, 'this gateway drives the orchestrator again, its releases untouched'),
      'lock taken back',
    );
    const { failures, requests } = await traffic.stop();
    expect(requests).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    expect(
      said(
        replica,
        'this gateway lost the lock that drives the orchestrator; its releases keep running for the handover delay',
      ),
    ).toBe(true);
    expect(replica.logs.filter((line) => line.msg === 'process started').length).toBe(1);
    // It drives again: a deploy goes through.
    const deployed = await command(replica, 'POST', '/deploy', { service: 'api', version: 'v2' });
    expect(deployed.status).toBe(202);
  }, 60_000);

  it('when a live driver loses the lock to the other gateway, it stops its releases and the other takes them over on their ports', async () => {
    const [a, b] = await pair();
    const table = (a.logs.find((line) => line.msg === 'traffic ready')!.store as string).split(
      ' ',
    )[3];
    const key = BigInt(advisoryKey(`lock:traffic::${table}`));
    // A freezes (a long pause): its sessions stay open, so the server must be told to end the
    // lock's; B takes the lock while A cannot answer, and A hears of it only when it thaws.
    process.kill(a.child.pid!, 'SIGSTOP');
    const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
    await admin.connect();
    try {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::oid AND objid = $2::oid`,
        [String((key >> 32n) & 0xffffffffn), String(key & 0xffffffffn)],
      );
    } finally {
      await admin.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 600));
    process.kill(a.child.pid!, 'SIGCONT');
    await waitForView(
      b,
      () => said(b, 'this gateway drives the orchestrator now'),
      'B drives',
      20_000,
    );
    expect(
      said(a, 'handover delay over: local releases stopped for the gateway that drives now'),
    ).toBe(true);
    // B started the releases again where they were, and both gateways route to them.
    await waitForView(
      b,
      (view) => view.slots.some((slot) => slot.state === 'active' && slot.passing > 0),
      'v1 healthy under B',
    );
    expect(b.logs.filter((line) => line.msg === 'process started').length).toBe(1);
    expect(b.logs.some((line) => line.msg === 'release could not be started')).toBe(false);
    expect(await hello(b)).toEqual({ version: 'v1' });
    expect(await hello(a)).toEqual({ version: 'v1' });
  }, 60_000);
});
