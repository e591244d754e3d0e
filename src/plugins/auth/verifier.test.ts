import { afterEach, describe, expect, it } from 'vitest';
import { jwtAdapter } from './adapters/jwt.js';
import { authOptionsSchema } from './options.js';
import {
  makeSigningKey,
  refusal,
  signToken,
  startJwksServer,
  type JwksServer,
  type SigningAlgorithm,
} from './test-support/keys.js';
import { AuthTokenError, createTokenVerifier } from './verifier.js';
import { HttpError } from '../../core/errors.js';

const defaults = authOptionsSchema.shape.tokens.parse(undefined);
const ISSUER = 'https://issuer.test';
const claims = { iss: ISSUER, aud: 'api', sub: 'user-1' };

const servers: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function jwksProvider(
  alg: SigningAlgorithm,
  options: Partial<typeof defaults> & { jwksMaxAge?: number } = {},
) {
  const key = await makeSigningKey(alg);
  const server = await startJwksServer([key]);
  servers.push(server);
  const verifier = createTokenVerifier(
    [jwtAdapter({ issuer: ISSUER, audience: 'api', jwksUrl: server.url, algorithms: [alg] })],
    { ...defaults, ...options },
  );
  return { key, server, verifier };
}

describe('bearer tokens accepted', () => {
  it.each(['RS256', 'ES256', 'EdDSA'] as const)('accepts %s from a JWK Set', async (alg) => {
    const { key, verifier } = await jwksProvider(alg);
    const token = await signToken(key, {
      ...claims,
      roles: ['editor'],
      permissions: ['read:docs'],
    });
    const user = await verifier.verify(token);
    expect(user).toMatchObject({
      id: 'jwt|user-1',
      provider: 'jwt',
      issuer: ISSUER,
      subject: 'user-1',
      roles: ['editor'],
      permissions: ['read:docs'],
    });
    expect(user.claims.aud).toBe('api');
  });

  it('accepts HS256 with a 32-byte secret, roles and permissions from configured claims', async () => {
    const secret = new TextEncoder().encode('a-secret-of-at-least-32-bytes-ok');
    const verifier = createTokenVerifier(
      [
        jwtAdapter({
          issuer: ISSUER,
          audience: ['api', 'admin-api'],
          secret,
          algorithms: ['HS256'],
          rolesClaim: 'groups',
          permissionsClaim: 'scope',
          name: 'internal',
        }),
      ],
      defaults,
    );
    const token = await signToken(
      { alg: 'HS256', secret },
      {
        ...claims,
        aud: 'admin-api',
        groups: ['ops'],
        scope: 'read:logs write:logs',
        email: 'a@b.test',
      },
    );
    expect(await verifier.verify(token)).toMatchObject({
      id: 'internal|user-1',
      email: 'a@b.test',
      roles: ['ops'],
      permissions: ['read:logs', 'write:logs'],
    });
    const wrongSecret = await signToken(
      { alg: 'HS256', secret: new TextEncoder().encode('another-secret-of-32-bytes-long!') },
      claims,
    );
    expect((await refusal(verifier.verify(wrongSecret))).code).toBe('AUTH_TOKEN_INVALID');
  });

  it('accepts configured public keys (PEM and JWK), trying each when the token has no kid', async () => {
    const first = await makeSigningKey('EdDSA');
    const second = await makeSigningKey('EdDSA');
    const third = await makeSigningKey('ES256');
    const verifier = createTokenVerifier(
      [
        jwtAdapter({
          issuer: ISSUER,
          audience: 'api',
          publicKeys: [first.publicPem, second.publicPem, third.publicJwk],
          algorithms: ['EdDSA', 'ES256'],
        }),
      ],
      defaults,
    );
    const noKid = (key: typeof first) => signToken({ ...key, kid: undefined } as never, claims);
    await expect(verifier.verify(await noKid(second))).resolves.toMatchObject({
      subject: 'user-1',
    });
    await expect(verifier.verify(await signToken(third, claims))).resolves.toBeDefined();
    const stranger = await makeSigningKey('EdDSA');
    expect((await refusal(verifier.verify(await noKid(stranger)))).reason).toBe(
      'no configured key verifies the signature',
    );
  });

  it('refuses with an HttpError the core answers as problem+json, its message safe for clients', async () => {
    const { verifier } = await jwksProvider('ES256');
    const error = await refusal(
      verifier.verify(await signToken(await makeSigningKey('ES256'), claims)),
    );
    expect(error).toBeInstanceOf(AuthTokenError);
    expect(error).toBeInstanceOf(HttpError);
    expect([error.status, error.code, error.message]).toEqual([
      401,
      'AUTH_TOKEN_INVALID',
      'The bearer token is not valid.',
    ]);
  });
});

describe('the cache of verified tokens', () => {
  it('answers a repeat without signature work: no key-set fetch, and an outage does not matter', async () => {
    // A key set never fresh is fetched for every verification that reaches jose.
    const { key, server, verifier } = await jwksProvider('ES256', { jwksMaxAge: 0 });
    const token = await signToken(key, claims);
    const user = await verifier.verify(token);
    expect(server.fetches).toBe(1);
    expect(await verifier.verify(token)).toBe(user);
    expect(server.fetches).toBe(1);
    await verifier.verify(await signToken(key, { ...claims, sub: 'user-2' }));
    expect(server.fetches).toBe(2);
    server.setDown(true);
    expect(await verifier.verify(token)).toBe(user);
    const uncached = await signToken(key, { ...claims, sub: 'user-3' });
    expect((await refusal(verifier.verify(uncached))).code).toBe('AUTH_PROVIDER_UNAVAILABLE');
  });

  it("does not answer from the cache after the token's exp", async () => {
    const key = await makeSigningKey('ES256');
    let clock = Date.now();
    const verifier = createTokenVerifier(
      [
        jwtAdapter({
          issuer: ISSUER,
          audience: 'api',
          publicKeys: [key.publicJwk],
          algorithms: ['ES256'],
        }),
      ],
      { ...defaults, clockTolerance: 0, clock: () => clock },
    );
    const token = await signToken(key, claims, { expiresIn: 60 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
    clock += 59_000;
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
    clock += 2_000;
    const error = await refusal(verifier.verify(token));
    expect([error.status, error.code]).toEqual([401, 'AUTH_TOKEN_EXPIRED']);
  });

  it('keeps at most cacheSize tokens, dropping the least recently used', async () => {
    const { key, server, verifier } = await jwksProvider('ES256', { jwksMaxAge: 0, cacheSize: 2 });
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((sub) => signToken(key, { ...claims, sub })),
    );
    await verifier.verify(a);
    await verifier.verify(b);
    await verifier.verify(a); // a is now the most recent; b goes first
    await verifier.verify(c);
    server.setDown(true);
    await expect(verifier.verify(a)).resolves.toMatchObject({ subject: 'a' });
    await expect(verifier.verify(c)).resolves.toMatchObject({ subject: 'c' });
    expect((await refusal(verifier.verify(b))).code).toBe('AUTH_PROVIDER_UNAVAILABLE');
  });

  it('caches nothing with cacheSize 0', async () => {
    const { key, server, verifier } = await jwksProvider('ES256', { jwksMaxAge: 0, cacheSize: 0 });
    const token = await signToken(key, claims);
    await verifier.verify(token);
    await verifier.verify(token);
    expect(server.fetches).toBe(2);
  });

  it('hands out frozen users, so one request cannot change what the next one sees', async () => {
    const { key, verifier } = await jwksProvider('ES256');
    const user = await verifier.verify(await signToken(key, claims));
    expect(Object.isFrozen(user)).toBe(true);
  });
});
