import { step, type Effect, type StepResult, type TrafficEvent } from '../machine.js';
import {
  initialServiceState,
  type MachineSettings,
  type ServiceState,
  type Slot,
} from '../state.js';

export const SETTINGS: MachineSettings = {
  promotionChecks: 3,
  promotionDelay: 10_000,
  autoPromote: false,
  rollbackWindow: 60_000,
  automaticRollback: false,
  failureThreshold: 3,
  startTimeout: 30_000,
  dev: false,
  idleTimeout: 60_000,
  historyLimit: 100,
};

/** The machine with a fake clock: every event is applied at `now`, which only moves when told. */
export class Harness {
  now = 1_000_000;
  state: ServiceState;
  effects: Effect[] = [];

  constructor(
    readonly settings: MachineSettings = SETTINGS,
    slots = ['slot-a', 'slot-b'],
  ) {
    this.state = initialServiceState('api', slots, this.now);
  }

  /** Applies an event that must be accepted; returns its effects. */
  apply(event: TrafficEvent): Effect[] {
    const result = step(this.state, event, this.now, this.settings);
    if (!result.ok)
      throw new Error(`rejected: ${result.rejection.code} ${result.rejection.message}`);
    this.state = result.state;
    this.effects.push(...result.effects);
    return result.effects;
  }

  /** Applies an event that must be refused; returns the rejection. */
  refuse(event: TrafficEvent) {
    const result: StepResult = step(this.state, event, this.now, this.settings);
    if (result.ok) throw new Error(`accepted ${event.type}`);
    return result.rejection;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  slot(id: string): Slot {
    return this.state.slots.find((slot) => slot.id === id)!;
  }

  states(): Record<string, string> {
    return Object.fromEntries(this.state.slots.map((slot) => [slot.id, slot.state]));
  }

  /** Deploys `version` and reports it started at `target`. */
  deploy(version: string, target: string, actor = 'ops'): string {
    const [start] = this.apply({ type: 'deploy', version, actor }).filter(
      (effect) => effect.type === 'start',
    );
    const slot = (start as Extract<Effect, { type: 'start' }>).slot;
    this.apply({ type: 'started', slot, target });
    return slot;
  }

  /** N passing checks, `interval` apart. */
  pass(slot: string, times = this.settings.promotionChecks, interval = 5_000): Effect[] {
    const effects: Effect[] = [];
    for (let index = 0; index < times; index++) {
      if (index > 0) this.advance(interval);
      effects.push(...this.apply({ type: 'check', slot, ok: true }));
    }
    return effects;
  }

  fail(slot: string, times: number, message = 'GET /health/ready answered 503'): Effect[] {
    const effects: Effect[] = [];
    for (let index = 0; index < times; index++)
      effects.push(...this.apply({ type: 'check', slot, ok: false, message }));
    return effects;
  }

  /** v1 active in slot-a, v2 candidate and eligible in slot-b. */
  activeAndEligibleCandidate(): void {
    this.deploy('v1', 'http://127.0.0.1:3100');
    this.pass('slot-a');
    this.deploy('v2', 'http://127.0.0.1:3102');
    this.pass('slot-b');
  }

  routes(): string[] {
    return this.effects
      .filter((effect) => effect.type === 'route')
      .map((effect) => (effect as { target: string }).target);
  }
}
