import { describe, expect, it, vi } from 'vitest';
import { captureLogs } from '../../test/support/http.js';
import { createLogger } from './logger.js';
import { HealthRegistry } from './health-registry.js';

describe('HealthRegistry', () => {
  it('keeps running a check on its interval when a result listener throws, and logs the failure', async () => {
    const capture = captureLogs();
    const registry = new HealthRegistry(
      createLogger({ destination: capture.stream, level: 'error' }),
    );
    let runs = 0;
    registry.register({ name: 'counter', interval: 10, run: async () => void runs++ });
    registry.onResult(() => {
      throw new Error('listener broke');
    });
    try {
      await registry.start();
      await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(3), { timeout: 2_000 });
    } finally {
      registry.stop();
    }
    expect(registry.summary().checks[0].status).toBe('healthy');
    expect(capture.lines.some((line) => line.msg === 'health result listener failed')).toBe(true);
  });

  it('never starts a run beside one that outlived its timeout, and resumes once it settles', async () => {
    const registry = new HealthRegistry(
      createLogger({ destination: captureLogs().stream, level: 'silent' }),
    );
    let started = 0;
    let release!: () => void;
    registry.register({
      name: 'stuck',
      interval: 10,
      timeout: 20,
      run: () => {
        started++;
        return started === 1
          ? new Promise<void>((resolve) => (release = resolve))
          : Promise.resolve();
      },
    });
    try {
      await registry.start();
      expect(registry.summary().checks[0].lastError).toBe('timed out after 20 ms');
      // Several intervals pass while the first run hangs: no second run starts.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(started).toBe(1);
      expect(registry.summary().checks[0].lastError).toMatch(
        /^previous run still pending after \d+ s/,
      );
      release();
      await vi.waitFor(() => expect(registry.summary().checks[0].status).toBe('healthy'), {
        timeout: 2_000,
      });
      expect(started).toBeGreaterThanOrEqual(2);
    } finally {
      registry.stop();
    }
  });
});
