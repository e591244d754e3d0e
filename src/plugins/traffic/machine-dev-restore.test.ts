import { describe, expect, it } from 'vitest';
import { reconcileSlots, type ServiceState } from './state.js';
import { Harness, SETTINGS } from './test-support/machine-harness.js';

describe('dev slots', () => {
  const DEV = { ...SETTINGS, dev: true, idleTimeout: 60_000 };

  it('routes a dev release once healthy, stops it when idle and wakes it on the next request', () => {
    const machine = new Harness(DEV);
    machine.deploy('v1', 'http://127.0.0.1:3100');
    expect(machine.apply({ type: 'check', slot: 'slot-a', ok: true })).toEqual([
      { type: 'route', slot: 'slot-a', target: 'http://127.0.0.1:3100' },
    ]);
    expect(machine.slot('slot-a').state).toBe('dev');
    machine.advance(30_000);
    machine.apply({ type: 'request' });
    machine.advance(59_999);
    expect(machine.apply({ type: 'tick' })).toEqual([]);
    machine.advance(1);
    expect(machine.apply({ type: 'tick' })).toEqual([{ type: 'stop', slot: 'slot-a' }]);
    expect(machine.slot('slot-a')).toMatchObject({ state: 'stopped', asleep: true, version: 'v1' });
    expect(machine.apply({ type: 'request' })).toEqual([
      { type: 'start', slot: 'slot-a', version: 'v1' },
    ]);
    expect(machine.slot('slot-a').state).toBe('starting');
    expect(machine.state.history.at(-1)?.reason).toBe('a request arrived while asleep');
    machine.apply({ type: 'started', slot: 'slot-a', target: 'http://127.0.0.1:3100' });
    // A slow start: longer than idleTimeout since the waking request arrived.
    machine.advance(70_000);
    machine.apply({ type: 'check', slot: 'slot-a', ok: true });
    expect(machine.slot('slot-a').state).toBe('dev');
    machine.apply({ type: 'tick' });
    expect(machine.slot('slot-a').state).toBe('dev');
  });

  it('replaces the running dev release when a new one is healthy, and refuses promotion', () => {
    const machine = new Harness(DEV);
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a', 1);
    machine.deploy('v2', 'http://127.0.0.1:3102');
    expect(machine.pass('slot-b', 1)).toEqual([
      { type: 'route', slot: 'slot-b', target: 'http://127.0.0.1:3102' },
      { type: 'stop', slot: 'slot-a' },
    ]);
    expect(machine.states()).toEqual({ 'slot-a': 'stopped', 'slot-b': 'dev' });
    expect(machine.refuse({ type: 'promote', actor: 'ops' })).toMatchObject({
      status: 400,
      code: 'TRAFFIC_DEV_SERVICE',
    });
  });
});

describe('restore after a gateway restart', () => {
  it('routes to the same active slot, restarts live releases and keeps absolute deadlines', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    const saved = JSON.parse(JSON.stringify(machine.state)) as ServiceState;
    const stopAt = machine.slot('slot-a').stopAt;

    machine.advance(20_000);
    machine.state = reconcileSlots(saved, ['slot-a', 'slot-b'], machine.now);
    machine.effects = [];
    const effects = machine.apply({ type: 'restore' });
    expect(effects).toEqual([
      { type: 'start', slot: 'slot-a', version: 'v1' },
      { type: 'route', slot: 'slot-b', target: 'http://127.0.0.1:3102' },
      { type: 'start', slot: 'slot-b', version: 'v2' },
    ]);
    expect(machine.slot('slot-a')).toMatchObject({
      state: 'previous',
      stopAt,
      target: 'http://127.0.0.1:3100',
    });
    expect(machine.apply({ type: 'rollback', actor: 'ops' })[0]).toEqual({
      type: 'route',
      slot: 'slot-a',
      target: 'http://127.0.0.1:3100',
    });
  });

  it('stops a previous slot whose window ended while the gateway was down', () => {
    const machine = new Harness();
    machine.activeAndEligibleCandidate();
    machine.apply({ type: 'promote', actor: 'ops' });
    machine.advance(61_000);
    const effects = machine.apply({ type: 'restore' });
    expect(effects).toContainEqual({ type: 'stop', slot: 'slot-a' });
    expect(effects).not.toContainEqual({ type: 'start', slot: 'slot-a', version: 'v1' });
    expect(machine.state.history.at(-1)?.reason).toBe(
      'rollback window ended while the gateway was down',
    );
  });

  it('adds configured slots and keeps removed ones only while they hold a release', () => {
    const machine = new Harness();
    machine.deploy('v1', 'http://127.0.0.1:3100');
    machine.pass('slot-a');
    const reconciled = reconcileSlots(machine.state, ['slot-b', 'slot-c'], machine.now);
    expect(reconciled.slots.map((slot) => `${slot.id}:${slot.state}`)).toEqual([
      'slot-b:stopped',
      'slot-c:stopped',
      'slot-a:active',
    ]);
  });
});
