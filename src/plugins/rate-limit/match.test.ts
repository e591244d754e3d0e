import { describe, expect, it } from 'vitest';
import { compileMatch, matchablePath } from './match.js';

describe('rule matching', () => {
  it('normalises the request path before matching', () => {
    expect(matchablePath('/API//v1/./x/../Login?next=/a')).toBe('/api/v1/login');
    expect(matchablePath('/log%69n')).toBe('/login');
    expect(matchablePath('/%E0%A4%A')).toBe('/%e0%a4%a');
  });

  it('treats a plain path as that path and everything below it', () => {
    const login = compileMatch('/login');
    expect([login('/login'), login('/login/sso'), login('/loginx'), login('/')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(compileMatch('/')('/anything/at/all')).toBe(true);
  });

  it('supports * within a segment, ** across segments and a trailing /*', () => {
    const below = compileMatch('/api/v1/*');
    expect([below('/api/v1'), below('/api/v1/users/7'), below('/api/v2/users')]).toEqual([
      true,
      true,
      false,
    ]);
    const avatar = compileMatch('/users/*/avatar');
    expect([avatar('/users/7/avatar'), avatar('/users/7/8/avatar')]).toEqual([true, false]);
    const deep = compileMatch('/files/**.zip');
    expect([deep('/files/a/b/c.zip'), deep('/files/a/b/c.tar')]).toEqual([true, false]);
  });
});

describe('rule matching, one grammar with routing', () => {
  it('reads a pattern with a trailing slash as the path below it, and keeps an encoded slash as written', () => {
    const admin = compileMatch('/admin/');
    expect([admin('/admin'), admin('/admin/x'), admin('/administrator')]).toEqual([
      true,
      true,
      false,
    ]);
    // Routing refuses %2f; the limiter counts such a path as it is written, never as /a/b.
    expect(matchablePath('/a%2Fb')).toBe('/a%2fb');
  });
});
