import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp, createClientIp, trustEntryProblem } from './client-ip.js';

// The resolver only reads the peer address and one header, so a plain object stands in for a request.
function request(remoteAddress: string, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage;
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
