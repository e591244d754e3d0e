import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimitPlugin } from '../rate-limit/index.js';
import { createRoutingPlugin } from '../routing/index.js';
import { createAuthPlugin } from './index.js';
import {
  FORWARD_SECRET,
  echoUpstream,
  startApp,
  testIssuer,
  type TestIssuer,
} from './test-support/gateway-kit.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await testIssuer();
});

describe('rate limits after authentication', () => {
  it('count a signed-in caller per user and everyone else per address', async () => {
    const upstream = await echoUpstream();
    cleanups.push(upstream.close);
    const { app, url } = await startApp([
      createRoutingPlugin({
        routes: [{ match: '/api/*', target: upstream.url, auth: 'optional', health: false }],
      }),
      createRateLimitPlugin({ default: { windowMs: 60_000, limit: 2 } }),
      createAuthPlugin({ providers: [issuer.provider], forward: { secret: FORWARD_SECRET } }),
    ]);
    cleanups.push(() => app.stop());
    const statuses = async (token?: string, times = 3) => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const out: number[] = [];
      for (let index = 0; index < times; index++)
        out.push((await fetch(`${url}/api/x`, { headers })).status);
      return out;
    };
    const alice = await issuer.token({ sub: 'alice' });
    const bob = await issuer.token({ sub: 'bob' });
    // One address, three buckets: anonymous callers, alice and bob.
    expect(await statuses()).toEqual([200, 200, 429]);
    expect(await statuses(alice)).toEqual([200, 200, 429]);
    expect(await statuses(bob, 2)).toEqual([200, 200]);
    // A new token of alice's is still alice: the bucket is the user's, not the token's.
    expect(await statuses(await issuer.token({ sub: 'alice', jti: 'another' }), 1)).toEqual([429]);
  });
});
