import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  clientIp,
  createClientAddresses,
  createClientIp,
  trustEntryProblem,
} from './client-address.js';
import { createApp, type AppOptions } from './app.js';
import { ConfigError } from './errors.js';

// The resolver only reads the peer address and one header, so a plain object stands in for a request.
function request(remoteAddress: string, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('clientIp', () => {
  it('ignores X-Forwarded-For unless a proxy is trusted', () => {
    expect(clientIp(request('10.0.0.5', '1.2.3.4'))).toBe('10.0.0.5');
    expect(clientIp(request('10.0.0.5', '1.2.3.4'), false)).toBe('10.0.0.5');
    expect(clientIp(request('::ffff:10.0.0.5', '1.2.3.4'), 0)).toBe('10.0.0.5');
  });

  it('trusts exactly the configured number of hops, never what the client prepends', () => {
    // The client sent "6.6.6.6"; the load balancer appended the address it saw, 1.2.3.4.
    const req = request('10.0.0.5', '6.6.6.6, 1.2.3.4');
    expect(clientIp(req, 1)).toBe('1.2.3.4');
    expect(clientIp(req, 2)).toBe('6.6.6.6');
    expect(clientIp(req, 5)).toBe('6.6.6.6');
  });

  it('trusts hops by address, subnet or name, and stops at the first untrusted one', () => {
    const trusted = ['loopback', '10.0.0.0/8'];
    expect(clientIp(request('127.0.0.1', '6.6.6.6, 1.2.3.4, 10.1.1.1'), trusted)).toBe('1.2.3.4');
    expect(clientIp(request('192.168.1.9', '1.2.3.4'), trusted)).toBe('192.168.1.9');
    expect(clientIp(request('::1', '2001:db8::7'), ['::1'])).toBe('2001:db8::7');
  });

  it('stops at a malformed entry instead of believing it', () => {
    expect(clientIp(request('10.0.0.5', 'not-an-ip'), 3)).toBe('10.0.0.5');
    expect(clientIp(request('10.0.0.5', 'garbage, 1.2.3.4'), 3)).toBe('1.2.3.4');
  });

  it('rejects unusable trust settings with the reason', () => {
    expect(trustEntryProblem('10.0.0.0/8')).toBeUndefined();
    expect(trustEntryProblem('10.0.0.0/33')).toMatch(/prefix length/);
    expect(trustEntryProblem('proxy.internal')).toMatch(/not an IP address/);
    expect(() => createClientIp(['nope'])).toThrow(/trustProxy/);
    expect(() => createClientIp(-1)).toThrow(/whole number/);
  });
});

describe('the app-level trustProxy', () => {
  const build = (trustProxy: unknown) => () =>
    createApp({
      name: 'trust',
      logger: { level: 'silent' },
      trustProxy: trustProxy as AppOptions['trustProxy'],
    });

  it('refuses a blanket true, a bad hop count and a bad address at start-up, naming the option', () => {
    for (const value of [true, -1, 1.5, ['proxy.internal'], 'true']) {
      let issue: { name: string; expected: string } | undefined;
      try {
        build(value)();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        issue = (error as ConfigError).issues[0];
      }
      expect(issue?.name, String(value)).toBe('trustProxy');
    }
    expect(build(true)).toThrow(/would believe any client about its own address/);
  });

  it('reads TRUST_PROXY when the option is not given, as hops or a list', () => {
    const previous = process.env.TRUST_PROXY;
    try {
      process.env.TRUST_PROXY = '2';
      expect(
        createApp({ name: 'trust', logger: { level: 'silent' } }).context.clients.trustProxy,
      ).toBe(2);
      process.env.TRUST_PROXY = '10.0.0.0/8, loopback';
      expect(
        createApp({ name: 'trust', logger: { level: 'silent' } }).context.clients.trustProxy,
      ).toEqual(['10.0.0.0/8', 'loopback']);
      process.env.TRUST_PROXY = 'everyone';
      expect(() => createApp({ name: 'trust', logger: { level: 'silent' } })).toThrow(
        /TRUST_PROXY/,
      );
    } finally {
      if (previous === undefined) delete process.env.TRUST_PROXY;
      else process.env.TRUST_PROXY = previous;
    }
  });

  it('answers req.ip, req.secure and the client address from the one setting', () => {
    const clients = createClientAddresses(['10.0.0.0/8']);
    const viaProxy = {
      socket: { remoteAddress: '10.1.2.3' },
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
    } as unknown as IncomingMessage;
    const direct = {
      socket: { remoteAddress: '198.51.100.4' },
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
    } as unknown as IncomingMessage;
    expect(clients.of(viaProxy)).toBe('203.0.113.9');
    expect(clients.secure(viaProxy)).toBe(true);
    expect(clients.of(direct)).toBe('198.51.100.4');
    expect(clients.secure(direct)).toBe(false);
    expect(clients.expressTrust('10.9.9.9', 0)).toBe(true);
    expect(clients.expressTrust('198.51.100.4', 0)).toBe(false);
  });
});
