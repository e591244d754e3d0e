import { describe, expect, it } from 'vitest';
import { step } from './machine.js';
import { Harness, SETTINGS } from './test-support/machine-harness.js';

describe('deploy and the first release', () => {
  it('starts a deploy in the first free slot, recording time, actor and reason', () => {
    const machine = new Harness();
    const effects = machine.apply({ type: 'deploy', version: 'v1', actor: 'ops' });
    expect(effects).toEqual([{ type: 'start', slot: 'slot-a', version: 'v1' }]);
    expect(machine.slot('slot-a')).toMatchObject({
      state: 'starting',
      version: 'v1',
      startDeadline: machine.now + 30_000,
    });
    expect(machine.state.history).toEqual([
      {
        at: machine.now,
        service: 'api',
        slot: 'slot-a',
        version: 'v1',
        from: 'stopped',
        to: 'starting',
        actor: 'ops',
        reason: 'deploy v1',
      },
    ]);
  });

  it('keeps a booting release starting while it refuses checks; beside an active one it becomes a candidate on its first pass', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    machine.deploy('v2', 'http://127.0.0.1:3102');
    expect(machine.slot('slot-b').target).toBe('http://127.0.0.1:3102');
    machine.fail('slot-b', 10, 'ECONNREFUSED');
    expect(machine.slot('slot-b').state).toBe('starting');
    machine.apply({ type: 'check', slot: 'slot-b', ok: true });
    expect(machine.slot('slot-b')).toMatchObject({
      state: 'candidate',
      passing: 1,
      passingSince: machine.now,
    });
    expect(machine.routes()).toEqual(['http://127.0.0.1:3100']);
  });

  it('fails a release that is not healthy by its start deadline', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.advance(29_999);
    expect(machine.apply({ type: 'tick' })).toEqual([]);
    machine.advance(1);
    expect(machine.apply({ type: 'tick' })).toEqual([{ type: 'stop', slot: 'slot-a' }]);
    expect(machine.slot('slot-a').state).toBe('failed');
    expect(machine.state.history.at(-1)).toMatchObject({
      from: 'starting',
      to: 'failed',
      actor: 'system',
    });
  });

  it('makes the first release active as soon as it passed N checks, never a candidate, without waiting out promotionDelay', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    // Two passes: still starting and unrouted, and not promotable by hand either.
    machine.pass('slot-a', 2, 1_000);
    expect(machine.slot('slot-a')).toMatchObject({ state: 'starting', passing: 2 });
    expect(machine.routes()).toEqual([]);
    expect(machine.refuse({ type: 'promote', actor: 'ops' })).toMatchObject({
      status: 409,
      code: 'TRAFFIC_FIRST_RELEASE',
      message:
        'slot-a (v1) is the first release: it becomes active by itself once it passed 3 consecutive health checks (2 so far).',
    });
    // The third pass, 2 s after the first (promotionDelay is 10 s): active at once.
    machine.advance(1_000);
    const effects = machine.apply({ type: 'check', slot: 'slot-a', ok: true });
    expect(effects).toEqual([{ type: 'route', slot: 'slot-a', target: 'http://127.0.0.1:3100' }]);
    expect(machine.slot('slot-a').state).toBe('active');
    expect(machine.state.history.map((t) => `${t.from}->${t.to}`)).toEqual([
      'stopped->starting',
      'starting->active',
    ]);
    expect(machine.state.history.at(-1)).toMatchObject({
      actor: 'system',
      reason:
        'first release, nothing to compare against: active after 3 consecutive passing health checks (no promotion delay)',
    });
  });

  it('activates a candidate left without an active slot (state saved by an older gateway) once it passed N checks', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.state = {
      ...machine.state,
      slots: machine.state.slots.map((slot) =>
        slot.id === 'slot-a' ? { ...slot, state: 'candidate' as const } : slot,
      ),
    };
    machine.pass('slot-a', 3, 100);
    expect(machine.slot('slot-a').state).toBe('active');
  });

  it('restarts the count when a check fails', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a', 2);
    machine.fail('slot-a', 1);
    expect(machine.slot('slot-a')).toMatchObject({
      state: 'starting',
      passing: 0,
      passingSince: undefined,
      failing: 1,
    });
    machine.pass('slot-a', 2);
    expect(machine.slot('slot-a').state).toBe('starting');
    machine.pass('slot-a', 1);
    expect(machine.slot('slot-a').state).toBe('active');
  });

  it('refuses a second deploy while one is starting or a candidate', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    expect(machine.refuse({ type: 'deploy', version: 'v2', actor: 'ops' })).toMatchObject({
      status: 409,
      code: 'TRAFFIC_DEPLOY_IN_PROGRESS',
    });
    expect(machine.refuse({ type: 'deploy', version: 'v2', actor: 'ops' }).message).toBe(
      'slot-a (v1) is starting; wait until it is healthy or abort it before deploying again.',
    );
    machine.pass('slot-a');
    machine.deploy('v2', 'http://127.0.0.1:3102');
    machine.apply({ type: 'check', slot: 'slot-b', ok: true });
    expect(machine.refuse({ type: 'deploy', version: 'v3', actor: 'ops' })).toMatchObject({
      code: 'TRAFFIC_DEPLOY_IN_PROGRESS',
      message: 'slot-b (v2) is candidate; promote or abort it before deploying again.',
    });
  });
});

describe('promotion', () => {
  it('refuses a promotion with no candidate, a starting release or too few checks', () => {
    const machine = new Harness();
    expect(machine.refuse({ type: 'promote', actor: 'ops' })).toMatchObject({
      status: 409,
      code: 'TRAFFIC_NO_CANDIDATE',
    });
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    machine.deploy('v2', 'http://127.0.0.1:3102');
    expect(machine.refuse({ type: 'promote', actor: 'ops' })).toMatchObject({
      code: 'TRAFFIC_NOT_HEALTHY',
      details: { slot: 'slot-b' },
    });
    machine.pass('slot-b', 2);
    expect(machine.refuse({ type: 'promote', actor: 'ops' }).message).toBe(
      'Not promoted: slot-b passed 2/3 consecutive health checks over 5 s of the 10 s required.',
    );
    machine.advance(1_000);
    machine.pass('slot-b', 1);
    expect(machine.refuse({ type: 'promote', actor: 'ops' }).message).toContain(
      '3/3 consecutive health checks over 6 s of the 10 s',
    );
  });

  it('never promotes a candidate automatically unless autoPromote is on', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    machine.advance(60_000);
    machine.apply({ type: 'tick' });
    expect(machine.states()).toEqual({ 'slot-a': 'active', 'slot-b': 'candidate' });
  });

  it('switches the route first, keeps the old active warm for the window, then stops it', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    const promotedAt = machine.now;
    const effects = machine.apply({ type: 'promote', actor: 'ops' });
    expect(effects).toEqual([{ type: 'route', slot: 'slot-b', target: 'http://127.0.0.1:3102' }]);
    expect(machine.states()).toEqual({ 'slot-a': 'previous', 'slot-b': 'active' });
    expect(machine.slot('slot-a').stopAt).toBe(promotedAt + 60_000);
    expect(machine.state.history.slice(-2).map((t) => [t.slot, t.from, t.to, t.actor])).toEqual([
      ['slot-a', 'active', 'previous', 'ops'],
      ['slot-b', 'candidate', 'active', 'ops'],
    ]);
    machine.advance(59_999);
    expect(machine.apply({ type: 'tick' })).toEqual([]);
    machine.advance(1);
    expect(machine.apply({ type: 'tick' })).toEqual([{ type: 'stop', slot: 'slot-a' }]);
    expect(machine.slot('slot-a').state).toBe('stopped');
    expect(machine.state.history.at(-1)?.reason).toBe('rollback window of 60 s ended');
    expect(machine.refuse({ type: 'rollback', actor: 'ops' }).code).toBe('TRAFFIC_NO_PREVIOUS');
  });

  it('promotes an eligible candidate by itself with autoPromote', () => {
    const machine = new Harness({ ...SETTINGS, autoPromote: true });
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    machine.deploy('v2', 'http://127.0.0.1:3102');
    machine.pass('slot-b');
    expect(machine.states()).toEqual({ 'slot-a': 'previous', 'slot-b': 'active' });
    expect(machine.state.history.at(-1)).toMatchObject({
      actor: 'system',
      reason: expect.stringMatching(/^automatic promotion/),
    });
  });

  it('stops the older previous slot when a third slot is promoted', () => {
    const machine = new Harness(SETTINGS, ['slot-a', 'slot-b', 'slot-c']);
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    machine.deploy('v3', 'http://127.0.0.1:3104');
    machine.pass('slot-c');
    const effects = machine.apply({ type: 'promote', actor: 'ops' });
    expect(effects).toEqual([
      { type: 'route', slot: 'slot-c', target: 'http://127.0.0.1:3104' },
      { type: 'stop', slot: 'slot-a' },
    ]);
    expect(machine.states()).toEqual({
      'slot-a': 'stopped',
      'slot-b': 'previous',
      'slot-c': 'active',
    });
  });
});

describe('rollback', () => {
  it('switches back instantly while the previous slot is warm and holds the demoted release', () => {
    const machine = new Harness({ ...SETTINGS, autoPromote: true });
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    machine.deploy('v2', 'http://127.0.0.1:3102');
    machine.pass('slot-b');
    const effects = machine.apply({ type: 'rollback', actor: 'ops' });
    expect(effects).toEqual([{ type: 'route', slot: 'slot-a', target: 'http://127.0.0.1:3100' }]);
    expect(machine.states()).toEqual({ 'slot-a': 'active', 'slot-b': 'candidate' });
    expect(machine.slot('slot-b').held).toBe(true);
    expect(machine.slot('slot-a').stopAt).toBeUndefined();
    // Held: eligible and autoPromote on, yet not promoted again by itself.
    machine.advance(20_000);
    machine.pass('slot-b', 1);
    machine.apply({ type: 'tick' });
    expect(machine.slot('slot-b').state).toBe('candidate');
    // A person may promote it again.
    machine.apply({ type: 'promote', actor: 'ops' });
    expect(machine.states()).toEqual({ 'slot-a': 'previous', 'slot-b': 'active' });
    expect(machine.routes()).toEqual([
      'http://127.0.0.1:3100',
      'http://127.0.0.1:3102',
      'http://127.0.0.1:3100',
      'http://127.0.0.1:3102',
    ]);
  });

  it('refuses a rollback with nothing warm', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    expect(machine.refuse({ type: 'rollback', actor: 'ops' })).toMatchObject({
      status: 409,
      code: 'TRAFFIC_NO_PREVIOUS',
    });
  });

  it('rolls back by itself when the new active exits, and fails it', () => {
    const machine = new Harness({ ...SETTINGS, automaticRollback: true });
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    const effects = machine.apply({ type: 'exited', slot: 'slot-b', message: 'exit code 1' });
    expect(effects).toEqual([
      { type: 'route', slot: 'slot-a', target: 'http://127.0.0.1:3100' },
      { type: 'stop', slot: 'slot-b' },
    ]);
    expect(machine.states()).toEqual({ 'slot-a': 'active', 'slot-b': 'failed' });
    expect(machine.state.history.at(-1)).toMatchObject({
      actor: 'system',
      reason: 'automatic rollback: active process exited: exit code 1',
    });
  });

  it('rolls back by itself after failureThreshold failing checks of the active', () => {
    const machine = new Harness({ ...SETTINGS, automaticRollback: true });
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    expect(machine.fail('slot-b', 2)).toEqual([]);
    expect(machine.fail('slot-b', 1)[0]).toEqual({
      type: 'route',
      slot: 'slot-a',
      target: 'http://127.0.0.1:3100',
    });
    expect(machine.states()).toEqual({ 'slot-a': 'active', 'slot-b': 'failed' });
  });

  it('rolls back on a 5xx rate report only when automatic rollback is on', () => {
    const manual = new Harness();
    manual.activeAndEligibleCandidate();
    manual.apply({ type: 'promote', actor: 'ops' });
    expect(manual.apply({ type: 'errorRate', slot: 'slot-b', message: '5xx rate 80%' })).toEqual(
      [],
    );
    expect(manual.slot('slot-b').state).toBe('active');

    const automatic = new Harness({ ...SETTINGS, automaticRollback: true });
    automatic.activeAndEligibleCandidate();
    automatic.apply({ type: 'promote', actor: 'ops' });
    automatic.apply({ type: 'errorRate', slot: 'slot-b', message: '5xx rate 80%' });
    expect(automatic.states()).toEqual({ 'slot-a': 'active', 'slot-b': 'failed' });
  });

  it('restarts an exited active in place when no rollback is possible', () => {
    const machine = new Harness({ ...SETTINGS, automaticRollback: true });
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    const effects = machine.apply({ type: 'exited', slot: 'slot-a', message: 'killed by SIGKILL' });
    expect(effects).toEqual([{ type: 'start', slot: 'slot-a', version: 'v1' }]);
    expect(machine.slot('slot-a')).toMatchObject({
      state: 'active',
      target: 'http://127.0.0.1:3100',
      passing: 0,
    });
    expect(machine.state.history.at(-1)).toMatchObject({
      from: 'active',
      to: 'active',
      reason: 'process exited: killed by SIGKILL; restarting',
    });
  });

  it('does not roll back after the window closed', () => {
    const machine = new Harness({ ...SETTINGS, automaticRollback: true });
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    machine.advance(60_000);
    machine.apply({ type: 'tick' });
    machine.fail('slot-b', 5);
    expect(machine.states()).toEqual({ 'slot-a': 'stopped', 'slot-b': 'active' });
  });
});

describe('failures never receive traffic', () => {
  it('fails a candidate after failureThreshold failing checks, with no route switch ever', () => {
    const machine = new Harness({ ...SETTINGS, autoPromote: true });
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    machine.deploy('v2', 'http://127.0.0.1:3102');
    machine.pass('slot-b', 2);
    expect(machine.fail('slot-b', 3)).toEqual([{ type: 'stop', slot: 'slot-b' }]);
    expect(machine.slot('slot-b')).toMatchObject({
      state: 'failed',
      message: 'GET /health/ready answered 503',
    });
    expect(machine.refuse({ type: 'promote', actor: 'ops' }).code).toBe('TRAFFIC_NO_CANDIDATE');
    expect(machine.routes()).toEqual(['http://127.0.0.1:3100']);
  });

  it('fails a candidate whose process exits, and one that could not start', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a', 1);
    machine.apply({ type: 'exited', slot: 'slot-a', message: 'exit code 1' });
    expect(machine.slot('slot-a')).toMatchObject({ state: 'failed', target: undefined });
    machine.apply({ type: 'deploy', version: 'v2', actor: 'ops' });
    machine.apply({ type: 'startFailed', slot: 'slot-a', error: 'port 3100 is already in use' });
    expect(machine.slot('slot-a').state).toBe('failed');
    expect(machine.state.history.at(-1)?.reason).toBe(
      'could not start: port 3100 is already in use',
    );
    expect(machine.routes()).toEqual([]);
  });

  it('fails a previous slot that stops answering, which ends the rollback option', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    machine.fail('slot-a', 3);
    expect(machine.slot('slot-a').state).toBe('failed');
    expect(machine.refuse({ type: 'rollback', actor: 'ops' }).code).toBe('TRAFFIC_NO_PREVIOUS');
  });
});

describe('slots, abort and stale events', () => {
  it('refuses a deploy when every slot is taken, and gives up the rollback target only when forced', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    const refusal = machine.refuse({ type: 'deploy', version: 'v3', actor: 'ops' });
    expect(refusal).toMatchObject({
      status: 409,
      code: 'TRAFFIC_NO_FREE_SLOT',
      details: { slot: 'slot-a' },
    });
    const effects = machine.apply({ type: 'deploy', version: 'v3', actor: 'ops', force: true });
    expect(effects).toEqual([
      { type: 'stop', slot: 'slot-a' },
      { type: 'start', slot: 'slot-a', version: 'v3' },
    ]);
    expect(machine.slot('slot-a')).toMatchObject({
      state: 'starting',
      version: 'v3',
      target: undefined,
    });
  });

  it('deploys over a rolled back (held) release', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    machine.apply({ type: 'rollback', actor: 'ops' });
    const effects = machine.apply({ type: 'deploy', version: 'v3', actor: 'ops' });
    expect(effects).toEqual([
      { type: 'stop', slot: 'slot-b' },
      { type: 'start', slot: 'slot-b', version: 'v3' },
    ]);
  });

  it('aborts a starting or candidate release, and refuses with nothing to abort', () => {
    const machine = new Harness();
    expect(machine.refuse({ type: 'abort', actor: 'ops' })).toMatchObject({
      status: 409,
      code: 'TRAFFIC_NOTHING_TO_ABORT',
    });
    machine.deploy('v1', 'http://127.0.0.1:3100');
    expect(machine.apply({ type: 'abort', actor: 'ops' })).toEqual([
      { type: 'stop', slot: 'slot-a' },
    ]);
    expect(machine.state.history.at(-1)).toMatchObject({
      from: 'starting',
      to: 'stopped',
      actor: 'ops',
      reason: 'aborted on request',
    });
  });

  it('ignores reports about stopped slots and names unknown ones', () => {
    const machine = new Harness();
    machine.apply({ type: 'deploy', version: 'v1', actor: 'ops' });
    machine.apply({ type: 'abort', actor: 'ops' });
    expect(
      machine.apply({ type: 'started', slot: 'slot-a', target: 'http://127.0.0.1:3100' }),
    ).toEqual([]);
    expect(machine.apply({ type: 'check', slot: 'slot-a', ok: true })).toEqual([]);
    expect(machine.slot('slot-a')).toMatchObject({ state: 'stopped', target: undefined });
    expect(machine.refuse({ type: 'check', slot: 'slot-z', ok: true })).toMatchObject({
      status: 404,
      code: 'TRAFFIC_SLOT_NOT_FOUND',
    });
  });

  it('never mutates the state it is given', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    const before = structuredClone(machine.state);
    const frozen = machine.state;
    step(frozen, { type: 'promote', actor: 'ops' }, machine.now, SETTINGS);
    expect(frozen).toEqual(before);
  });

  it('keeps at most historyLimit transitions, newest last', () => {
    const machine = new Harness({ ...SETTINGS, historyLimit: 3 });
    for (const version of ['v1', 'v2', 'v3']) {
      machine.apply({ type: 'deploy', version, actor: 'ops' });
      machine.apply({ type: 'abort', actor: 'ops' });
    }
    expect(machine.state.history.map((t) => `${t.version}:${t.to}`)).toEqual([
      'v2:stopped',
      'v3:starting',
      'v3:stopped',
    ]);
  });
});
