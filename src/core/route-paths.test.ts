import { describe, expect, it } from 'vitest';
import { RoutePaths } from './route-paths.js';

describe('RoutePaths', () => {
  it('matches paths as Express routes them: case, trailing slash, parameters, wildcards', () => {
    const paths = new RoutePaths();
    for (const path of ['/api/config', '/ops/traffic/:service/slots', '/cpanel{/*rest}'])
      paths.add(path);
    for (const path of [
      '/api/config',
      '/API/Config/',
      '/ops/traffic/api/slots',
      '/cpanel',
      '/cpanel/traffic/x',
    ])
      expect(paths.has(path), path).toBe(true);
    for (const path of [
      '/api/configs',
      '/api/config/x',
      '/ops/traffic/a/b/slots',
      '/cpanelx',
      '/api/v1/hello',
    ])
      expect(paths.has(path), path).toBe(false);
  });
});
