import { describe, expect, it } from 'vitest';
import { VERSION_PATTERN, versionSchema } from './version.js';

// The platforms' own grammars: Docker's reference grammar for a tag, Kubernetes' for a label value.
const DOCKER_TAG = /^[\w][\w.-]{0,127}$/;
const KUBERNETES_LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const carriedEverywhere = (value: string) =>
  value !== '' &&
  DOCKER_TAG.test(value) &&
  KUBERNETES_LABEL_VALUE.test(value) &&
  value.length <= 63;

describe('release versions', () => {
  const samples = [
    'v1',
    'v2',
    '1.4.0',
    '1.4.0-rc.1',
    '2024_06_01',
    'a',
    'x'.repeat(63),
    'x'.repeat(64),
    '1.0.0+build.5',
    '-v2',
    'v2-',
    '_v2',
    'v2_',
    '.v2',
    'v2.',
    'v 2',
    'v2/x',
    '../etc',
    '',
  ];

  it('accepts exactly what both an image tag and a Kubernetes label value can hold', () => {
    for (const sample of samples)
      expect([sample, VERSION_PATTERN.test(sample)]).toEqual([sample, carriedEverywhere(sample)]);
  });

  it('says which characters are allowed and why when it refuses one', () => {
    const refused = versionSchema.safeParse('1.0.0+build.5');
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0].message).toContain(
      'at most 63 letters, digits, ".", "_" or "-"',
    );
    expect(refused.error?.issues[0].message).toContain('no "+"');
  });

  it('compiles as a browser input pattern (the v flag) with the same answers', () => {
    const browser = new RegExp(`^(?:${VERSION_PATTERN.source})$`, 'v');
    for (const sample of samples)
      expect([sample, browser.test(sample)]).toEqual([sample, VERSION_PATTERN.test(sample)]);
  });
});
