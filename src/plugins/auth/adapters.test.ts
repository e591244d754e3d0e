import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth0Adapter } from './adapters/auth0.js';
import { jwtAdapter, type JwtAdapterOptions } from './adapters/jwt.js';
import { supabaseAdapter } from './adapters/supabase.js';
import { authOptionsSchema } from './options.js';
import {
  makeSigningKey,
  refusal,
  signToken,
  startJwksServer,
  type JwksServer,
  type SigningKey,
} from './test-support/keys.js';
import { createTokenVerifier } from './verifier.js';
import type { TokenVerifier } from './types.js';

const defaults = authOptionsSchema.shape.tokens.parse(undefined);
const options = (provider: { problems: readonly { option: string }[] }) =>
  provider.problems.map((problem) => problem.option);

describe('auth0Adapter', () => {
  it("describes Auth0's tokens: issuer with the slash, the tenant's JWKS, RS256 only", () => {
    const provider = auth0Adapter({
      domain: 'example.us.auth0.com',
      audience: 'https://api.example.com',
      clientId: 'client-1',
      clientSecret: 'client-secret',
    });
    expect(provider).toMatchObject({
      name: 'auth0',
      kind: 'auth0',
      issuer: 'https://example.us.auth0.com/',
      audience: 'https://api.example.com',
      algorithms: ['RS256'],
      keys: { jwksUrl: 'https://example.us.auth0.com/.well-known/jwks.json' },
      login: {
        kind: 'oidc',
        issuer: 'https://example.us.auth0.com/',
        clientId: 'client-1',
        clientSecret: 'client-secret',
        audience: 'https://api.example.com',
        scope: 'openid profile email',
      },
      problems: [],
    });
    expect(auth0Adapter({ domain: 'x.auth0.com', audience: 'a' }).login).toBeUndefined();
  });

  it('names a missing audience, saying Auth0 would issue opaque tokens', () => {
    const provider = auth0Adapter({ domain: 'example.us.auth0.com' });
    expect(provider.problems).toEqual([
      { option: 'audience', message: expect.stringMatching(/opaque access tokens/) },
    ]);
    const parsed = authOptionsSchema.safeParse({ providers: [provider] });
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'providers.0.audience',
    ]);
  });

  it('refuses a domain with a scheme, a plain-http issuer off this machine, and both at once', () => {
    expect(options(auth0Adapter({ domain: 'https://x.auth0.com', audience: 'a' }))).toEqual([
      'domain',
    ]);
    expect(options(auth0Adapter({ audience: 'a' }))).toEqual(['domain']);
    expect(options(auth0Adapter({ issuer: 'http://op.example.com/', audience: 'a' }))).toEqual([
      'issuer',
    ]);
    expect(
      options(auth0Adapter({ domain: 'x.auth0.com', issuer: 'https://x/', audience: 'a' })),
    ).toEqual(['issuer']);
    const local = auth0Adapter({ issuer: 'http://127.0.0.1:4000/', audience: 'a' });
    expect(local.problems).toEqual([]);
    expect(local.keys).toEqual({ jwksUrl: 'http://127.0.0.1:4000/.well-known/jwks.json' });
  });

  describe('an Auth0-shaped access token', () => {
    let key: SigningKey;
    let jwks: JwksServer;
    let verifier: TokenVerifier;
    let issuer: string;
    const audience = 'https://api.example.com';

    beforeAll(async () => {
      key = await makeSigningKey('RS256');
      jwks = await startJwksServer([key]);
      issuer = `${jwks.origin}/`;
      verifier = createTokenVerifier(
        [auth0Adapter({ issuer, audience, rolesClaim: 'https://example.com/roles' })],
        defaults,
      );
    });
    afterAll(() => jwks.close());

    const auth0Claims = () => ({
      iss: issuer,
      sub: 'auth0|65f0c0ffee',
      aud: [audience, `${issuer}userinfo`],
      azp: 'client-1',
      scope: 'openid profile email read:reports',
      permissions: ['read:reports', 'write:reports'],
      'https://example.com/roles': ['analyst'],
      roles: ['admin'],
    });

    it('is accepted with aud an array, permissions and roles from the namespaced claim', async () => {
      const user = await verifier.verify(await signToken(key, auth0Claims()));
      expect(user).toMatchObject({
        id: 'auth0|auth0|65f0c0ffee',
        provider: 'auth0',
        subject: 'auth0|65f0c0ffee',
        roles: ['analyst'],
        permissions: ['read:reports', 'write:reports'],
      });
    });

    it('is refused when aud lacks the API', async () => {
      const token = await signToken(key, { ...auth0Claims(), aud: [`${issuer}userinfo`] });
      expect((await refusal(verifier.verify(token))).reason).toBe('unexpected "aud" claim value');
    });

    it('is refused signed with anything but RS256', async () => {
      const es = await makeSigningKey('ES256');
      jwks.setKeys([key, es]);
      const error = await refusal(verifier.verify(await signToken(es, auth0Claims())));
      expect(error.reason).toBe('alg ES256 is not one of RS256');
    });
  });
});

describe('jwtAdapter', () => {
  const base: JwtAdapterOptions = {
    issuer: 'https://id.example.com',
    audience: 'api',
    algorithms: ['RS256'],
    jwksUrl: 'https://id.example.com/jwks.json',
  };

  it('takes a well-formed configuration without problems', async () => {
    const key = await makeSigningKey('EdDSA');
    expect(jwtAdapter(base).problems).toEqual([]);
    expect(
      jwtAdapter({
        ...base,
        jwksUrl: undefined,
        publicKeys: [key.publicPem],
        algorithms: ['EdDSA'],
      }).problems,
    ).toEqual([]);
    expect(
      jwtAdapter({ ...base, jwksUrl: undefined, secret: 'x'.repeat(32), algorithms: ['HS512'] })
        .problems,
    ).toEqual([]);
  });

  it.each<[string, Partial<JwtAdapterOptions>, string[]]>([
    ['no key source', { jwksUrl: undefined }, ['jwksUrl']],
    ['two key sources', { secret: 'x'.repeat(32) }, ['secret', 'algorithms']],
    ['alg none', { algorithms: ['none'] }, ['algorithms']],
    ['no algorithm', { algorithms: [] }, ['algorithms']],
    ['HS256 with a key set', { algorithms: ['HS256'] }, ['algorithms']],
    [
      'HS256 with public keys',
      {
        jwksUrl: undefined,
        publicKeys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }],
        algorithms: ['RS256', 'HS256'],
      },
      ['algorithms'],
    ],
    ['RS256 with a secret', { jwksUrl: undefined, secret: 'x'.repeat(32) }, ['algorithms']],
    [
      'a 16-byte secret',
      { jwksUrl: undefined, secret: 'x'.repeat(16), algorithms: ['HS256'] },
      ['secret'],
    ],
    ['a key set over plain http', { jwksUrl: 'http://id.example.com/jwks.json' }, ['jwksUrl']],
    [
      'a PEM that is no key',
      {
        jwksUrl: undefined,
        publicKeys: ['-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----'],
      },
      ['publicKeys.0'],
    ],
    [
      'a symmetric JWK as a public key',
      { jwksUrl: undefined, publicKeys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
      ['publicKeys.0'],
    ],
    ['no issuer', { issuer: '' }, ['issuer']],
    ['no audience', { audience: [] }, ['audience']],
  ])('names the option of %s', (_, change, expected) => {
    expect(options(jwtAdapter({ ...base, ...change }))).toEqual(expected);
  });
});

describe('supabaseAdapter', () => {
  it("describes a project's tokens and its password login", () => {
    const secret = 'super-secret-jwt-token-with-at-least-32-characters';
    const provider = supabaseAdapter({
      url: 'https://abc.supabase.co/',
      anonKey: 'anon-key',
      jwtSecret: secret,
    });
    expect(provider).toMatchObject({
      name: 'supabase',
      kind: 'supabase',
      issuer: 'https://abc.supabase.co/auth/v1',
      audience: 'authenticated',
      algorithms: ['ES256', 'RS256', 'HS256'],
      keys: {
        jwksUrl: 'https://abc.supabase.co/auth/v1/.well-known/jwks.json',
        fallbackSecret: new TextEncoder().encode(secret),
      },
      login: { kind: 'supabase-password', url: 'https://abc.supabase.co', anonKey: 'anon-key' },
      problems: [],
    });
    expect(supabaseAdapter({ url: 'https://abc.supabase.co', anonKey: 'k' }).algorithms).toEqual([
      'ES256',
      'RS256',
    ]);
  });

  it('names a short JWT secret, a missing anon key and plain http off this machine', () => {
    expect(
      options(supabaseAdapter({ url: 'http://abc.example.com', anonKey: '', jwtSecret: 'short' })),
    ).toEqual(['url', 'anonKey', 'jwtSecret']);
    expect(supabaseAdapter({ url: 'http://127.0.0.1:54321', anonKey: 'k' }).problems).toEqual([]);
  });
});
