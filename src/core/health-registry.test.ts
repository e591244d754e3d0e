import { describe, expect, it, vi } from 'vitest';
import { captureLogs } from '../../test/support/http.js';
import { createLogger } from './logger.js';
import { HealthRegistry } from './health-registry.js';

describe('HealthRegistry', () => {
  it('keeps running a check on its interval when a result listener throws, and logs the failure', async () => {
    const capture = captureLogs();
    const registry = new HealthRegistry(createLogger({ destination: capture.stream, level: 'error' }));
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
});
