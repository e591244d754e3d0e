import { describe, expect, it } from 'vitest';
import {
  holdsPartOf,
  holdsPermission,
  permissionCovers,
  permissionOverlaps,
  qualifyPermission,
  resourceAncestors,
} from './permission.js';

describe('permissionCovers', () => {
  const cases: [held: string, required: string, covered: boolean][] = [
    ['traffic:deploy', 'traffic:deploy', true],
    ['traffic:deploy', 'traffic:deploy:api', true],
    ['traffic:deploy', 'traffic:deploy:api:eu', true],
    ['traffic:deploy:api', 'traffic:deploy:api', true],
    ['traffic:deploy:api', 'traffic:deploy:web', false],
    ['traffic:deploy:api', 'traffic:deploy', false],
    ['traffic:deploy:api', 'traffic:deploy:apiary', false],
    ['traffic:deploy', 'traffic:deployer', false],
    ['traffic:deploy', 'traffic:promote:api', false],
    ['traffic:deploy:*', 'traffic:deploy:api', true],
    ['traffic:deploy:*', 'traffic:deploy:x', true],
    ['traffic:deploy:*', 'traffic:deploy', false],
    ['traffic:*', 'traffic:deploy:api', true],
    ['traffic:*', 'traffic:promote', true],
    ['traffic:*', 'config:read', false],
    ['*', 'traffic:deploy:api', true],
    ['*', 'config:read', true],
    ['*:*', '*', true],
    ['*', '*', true],
    ['*:deploy', 'traffic:deploy:api', true],
    ['*:deploy', 'traffic:promote', false],
    // Read literally: a wildcard asked for is granted only by a wildcard.
    ['traffic:deploy', 'traffic:*', false],
    ['read:orders', '*:orders', false],
    ['admin:*', 'admin:*', true],
    // Not permissions at all.
    ['traffic', 'traffic', false],
    ['traffic:', 'traffic:', false],
    ['', '', false],
    [':deploy', ':deploy', false],
  ];
  it.each(cases)('%s covers %s: %s', (held, required, covered) => {
    expect(permissionCovers(held, required)).toBe(covered);
  });

  it('finds a covering grant in a list', () => {
    expect(holdsPermission(['config:read', 'traffic:deploy:api'], 'traffic:deploy:api')).toBe(true);
    expect(holdsPermission(['config:read', 'traffic:deploy:api'], 'traffic:deploy:web')).toBe(
      false,
    );
    expect(holdsPermission([], 'config:read')).toBe(false);
  });
});

describe('permissionOverlaps', () => {
  it('takes a grant beneath the permission as part of it, and nothing beside it', () => {
    expect(permissionOverlaps('traffic:deploy:api', 'traffic:deploy')).toBe(true);
    expect(permissionOverlaps('traffic:deploy', 'traffic:deploy')).toBe(true);
    expect(permissionOverlaps('*:deploy:api', 'traffic:deploy')).toBe(true);
    expect(permissionOverlaps('traffic:promote:api', 'traffic:deploy')).toBe(false);
    expect(permissionOverlaps('config:deploy:api', 'traffic:deploy')).toBe(false);
    expect(permissionOverlaps('traffic:deployer', 'traffic:deploy')).toBe(false);
    expect(holdsPartOf(['cache:flush', 'traffic:deploy:api'], 'traffic:deploy')).toBe(true);
    expect(holdsPartOf(['cache:flush'], 'traffic:deploy')).toBe(false);
  });
});

describe('qualifyPermission and resourceAncestors', () => {
  it('narrows to one segment, or keeps the whole permission', () => {
    expect(qualifyPermission('traffic:deploy', 'api')).toBe('traffic:deploy:api');
    expect(qualifyPermission('traffic:deploy', undefined)).toBe('traffic:deploy');
    expect(qualifyPermission('traffic:deploy', '*')).toBe('traffic:deploy');
    expect(qualifyPermission('traffic:deploy', 'api:eu')).toBe('traffic:deploy');
    expect(qualifyPermission('traffic:deploy', '')).toBe('traffic:deploy');
  });

  it('lists the resources above a nested one, nearest first', () => {
    expect(resourceAncestors('deploy:api:eu')).toEqual([
      'deploy:api:*',
      'deploy:api',
      'deploy:*',
      'deploy',
    ]);
    expect(resourceAncestors('deploy')).toEqual([]);
  });
});
