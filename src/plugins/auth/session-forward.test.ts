import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../index.js';
import { createRoutingPlugin } from '../routing/index.js';
import { auth0Adapter } from './adapters/auth0.js';
import { gatewayAdapter } from './adapters/gateway.js';
import { createAuthPlugin } from './index.js';
import { startAuth0Op, type Auth0Op } from './test-support/auth0-op.js';
import { freePort } from './test-support/auth-app.js';
import { signIn } from './test-support/code-flow.js';
import { FORWARD_SECRET, echoUpstream, type EchoUpstream } from './test-support/gateway-kit.js';
import { createTokenVerifier } from './verifier.js';

let op: Auth0Op;
beforeAll(async () => {
  op = await startAuth0Op();
});
afterAll(() => op.close());
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe('a browser session at the gateway', () => {
  it('signs in through the code flow, then proxies with the signed identity and never the cookie', async () => {
    const service: EchoUpstream = await echoUpstream();
    cleanups.push(() => service.close());
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    op.registerClient({
      redirectUri: `${url}/auth/callback`,
      postLogoutRedirectUri: `${url}/`,
      backchannelLogoutUri: `${url}/auth/backchannel-logout`,
    });
    const app: App = createApp({
      name: 'gateway',
      port,
      host: '127.0.0.1',
      logger: { level: 'silent', stdout: false },
      shutdown: { signals: false, readinessDelay: 0, drainTimeout: 1_000 },
      plugins: [
        createRoutingPlugin({
          routes: [{ match: '/app/*', target: service.url, auth: 'required', health: false }],
        }),
        createAuthPlugin({
          providers: [
            auth0Adapter({
              issuer: op.issuer,
              clientId: op.clientId,
              clientSecret: op.clientSecret,
              audience: op.audience,
            }),
          ],
          publicUrl: url,
          forward: { secret: FORWARD_SECRET },
        }),
      ],
    });
    await app.start();
    cleanups.push(() => app.stop());
    const { jar } = await signIn(`${url}/auth/login?returnTo=/app/home`, {
      login: 'user-alice',
      password: 'alice-password',
    });
    const response = await jar.fetch(`${url}/app/home`, { headers: { cookie: 'theme=dark' } });
    expect(response.status).toBe(200);
    const seen = service.seen.at(-1)!;
    expect(seen.cookie).toBeUndefined();
    const verifier = createTokenVerifier([gatewayAdapter({ secret: FORWARD_SECRET })], {
      maxBytes: 8_192,
      clockTolerance: 0,
      cacheSize: 0,
      jwksCooldown: 30_000,
      jwksTimeout: 5_000,
    });
    const user = await verifier.verify(seen['x-qwickapps-identity'] as string);
    expect(user).toMatchObject({ id: 'auth0|user-alice', email: 'alice@example.com' });
    expect(user.sessionId).toBeUndefined();
  });
});
