import { describe, expect, it } from 'vitest';
import { STATIC_ERRORS } from '../src/plugins/static/errors.js';
import { TRAFFIC_ERRORS } from '../src/plugins/traffic/errors.js';
import { releaseCodes } from '../src/core/releases/error.js';

describe('releaseCodes', () => {
  it('names each refusal after the plugin, with one status per problem, each code documented', () => {
    const traffic = releaseCodes('TRAFFIC');
    expect(traffic['too-large']).toEqual({ status: 413, code: 'TRAFFIC_RELEASE_TOO_LARGE' });
    expect(traffic['checksum-mismatch']).toEqual({
      status: 422,
      code: 'TRAFFIC_RELEASE_CHECKSUM_MISMATCH',
    });
    for (const [prefix, documented] of [
      ['TRAFFIC', TRAFFIC_ERRORS],
      ['STATIC', STATIC_ERRORS],
    ] as const)
      for (const { status, code } of Object.values(releaseCodes(prefix))) {
        expect(documented, code).toHaveProperty(code);
        expect((documented as Record<string, { status: number }>)[code]!.status, code).toBe(status);
      }
  });
});
