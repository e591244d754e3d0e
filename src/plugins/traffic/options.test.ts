import { describe, expect, it } from 'vitest';
import { trafficOptionsSchema } from './options.js';

const orchestrator = { type: 'process', command: process.execPath, ports: [3100, 3102] } as const;

describe('traffic options', () => {
  it('takes its waits as durations or milliseconds', () => {
    const parsed = trafficOptionsSchema.parse({
      services: [{ name: 'api', promotionDelay: '5s', healthInterval: 500, idleTimeout: '15m' }],
      rollback: { window: '10m' },
      orchestrator,
    });
    expect(parsed.services[0]).toMatchObject({
      promotionDelay: 5_000,
      healthInterval: 500,
      idleTimeout: 900_000,
    });
    expect(parsed.rollback.window).toBe(600_000);
  });

  it('names every wait it cannot read, at once', () => {
    const result = trafficOptionsSchema.safeParse({
      services: [{ name: 'api', promotionDelay: 'five seconds', healthTimeout: 0 }],
      rollback: { window: '-1m' },
      orchestrator,
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'services.0.promotionDelay',
        'services.0.healthTimeout',
        'rollback.window',
      ]),
    );
  });
});
