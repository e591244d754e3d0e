import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { auth0Adapter } from './adapters/auth0.js';
import { jwtAdapter } from './adapters/jwt.js';
import { bearerOf } from './bearer.js';
import { authOptionsSchema } from './options.js';
import {
  closeServer,
  collectLogs,
  encodePart,
  listenLocal,
  makeSigningKey,
  refusal,
  signToken,
  sleep,
  startJwksServer,
  type JwksServer,
  type SigningKey,
} from './test-support/keys.js';
import { createTokenVerifier } from './verifier.js';
import type { TokenVerifier } from './types.js';

const defaults = authOptionsSchema.shape.tokens.parse(undefined);
const ISSUER = 'https://issuer.test';
const now = () => Math.floor(Date.now() / 1000);

let key: SigningKey;
let attackerKey: SigningKey;
let jwks: JwksServer;
let attacker: JwksServer;
let verifier: TokenVerifier;
const logs = collectLogs();
const claims = () => ({ iss: ISSUER, aud: 'api', sub: 'user-1' });
const signed = (extra: Record<string, unknown> = {}, options = {}) =>
  signToken(key, { ...claims(), ...extra }, options);

beforeAll(async () => {
  key = await makeSigningKey('RS256');
  attackerKey = await makeSigningKey('RS256');
  jwks = await startJwksServer([key]);
  attacker = await startJwksServer([attackerKey]);
  verifier = createTokenVerifier(
    [
      jwtAdapter({ issuer: ISSUER, audience: 'api', jwksUrl: jwks.url, algorithms: ['RS256'] }),
      auth0Adapter({ issuer: `${jwks.origin}/`, audience: 'https://api.example.com' }),
    ],
    { ...defaults, logger: logs.logger },
  );
  // The key set is fetched once here, so later counts show what each refusal fetched.
  await verifier.verify(await signed());
});

afterAll(async () => {
  await jwks.close();
  await attacker.close();
});

describe('bearer tokens refused', () => {
  it('refuses alg none', async () => {
    const token = `${encodePart({ alg: 'none', typ: 'JWT' })}.${encodePart({ ...claims(), iat: now(), exp: now() + 60 })}.`;
    const error = await refusal(verifier.verify(token));
    expect([error.status, error.code, error.reason]).toEqual([
      401,
      'AUTH_TOKEN_INVALID',
      'unsigned token (alg none)',
    ]);
  });

  it('refuses HS256 signed with the RSA public key as the secret (key confusion)', async () => {
    const token = await signToken(
      { alg: 'HS256', kid: key.kid, secret: new TextEncoder().encode(key.publicPem) },
      claims(),
    );
    const error = await refusal(verifier.verify(token));
    expect(error.code).toBe('AUTH_TOKEN_INVALID');
    expect(error.reason).toMatch(/alg HS256 is not one of RS256/);
  });

  it('refuses a kid the key set does not have', async () => {
    const stranger = await makeSigningKey('RS256', 'no-such-kid');
    const error = await refusal(verifier.verify(await signToken(stranger, claims())));
    expect(error.code).toBe('AUTH_TOKEN_INVALID');
    expect(error.reason).toMatch(/no applicable key/);
  });

  it.each(['../../etc/passwd', 'keys/1', 'a\\b', '..'])(
    'refuses the path-like kid %j before any key lookup',
    async (kid) => {
      const before = jwks.fetches;
      const error = await refusal(verifier.verify(await signed({}, { header: { kid } })));
      expect([error.code, error.reason]).toEqual(['AUTH_TOKEN_INVALID', 'kid looks like a path']);
      expect(jwks.fetches).toBe(before);
    },
  );

  it.each(['jku', 'x5u'])('refuses a %s header and never fetches its URL', async (member) => {
    const forged = await signToken(attackerKey, claims(), {
      header: { [member]: attacker.url },
    });
    expect((await refusal(verifier.verify(forged))).code).toBe('AUTH_TOKEN_INVALID');
    // Even a genuine signature does not make a token that points at its own key acceptable.
    const genuine = await signed({}, { header: { [member]: attacker.url } });
    const error = await refusal(verifier.verify(genuine));
    expect(error.reason).toMatch(new RegExp(`names its own key \\(${member}\\)`));
    expect(attacker.requests).toBe(0);
  });

  it('refuses an embedded jwk header, even one the token was signed with', async () => {
    const forged = await signToken(attackerKey, claims(), {
      header: { jwk: attackerKey.publicJwk },
    });
    const error = await refusal(verifier.verify(forged));
    expect([error.code, error.reason]).toEqual([
      'AUTH_TOKEN_INVALID',
      'the header names its own key (jwk); keys come from configuration',
    ]);
  });

  it('refuses an expired token (beyond the clock tolerance) as expired', async () => {
    const token = await signed({}, { issuedAt: now() - 600, expiresIn: 600 - 60 });
    const error = await refusal(verifier.verify(token));
    expect([error.status, error.code]).toEqual([401, 'AUTH_TOKEN_EXPIRED']);
  });

  it('refuses nbf beyond the skew and accepts it within', async () => {
    const error = await refusal(verifier.verify(await signed({ nbf: now() + 60 })));
    expect([error.code, error.reason]).toEqual([
      'AUTH_TOKEN_INVALID',
      '"nbf" claim timestamp check failed',
    ]);
    await expect(verifier.verify(await signed({ nbf: now() + 20 }))).resolves.toMatchObject({
      subject: 'user-1',
    });
  });

  it('refuses iat in the future beyond the skew and accepts it within', async () => {
    const error = await refusal(verifier.verify(await signed({}, { issuedAt: now() + 60 })));
    expect(error.code).toBe('AUTH_TOKEN_INVALID');
    expect(error.reason).toMatch(/"iat" claim timestamp check failed \(it should be in the past\)/);
    const within = await signed({}, { issuedAt: now() + 20 });
    await expect(verifier.verify(within)).resolves.toMatchObject({ subject: 'user-1' });
  });

  it('refuses a token without exp', async () => {
    const error = await refusal(verifier.verify(await signed({}, { expiresIn: null })));
    expect([error.code, error.reason]).toEqual([
      'AUTH_TOKEN_INVALID',
      'missing required "exp" claim',
    ]);
  });

  it('refuses a token without sub', async () => {
    const token = await signToken(key, { iss: ISSUER, aud: 'api' });
    expect((await refusal(verifier.verify(token))).reason).toBe('missing required "sub" claim');
  });

  it('refuses an issuer no provider has', async () => {
    const error = await refusal(verifier.verify(await signed({ iss: 'https://elsewhere.test' })));
    expect([error.code, error.reason]).toEqual([
      'AUTH_TOKEN_INVALID',
      'unknown issuer "https://elsewhere.test"',
    ]);
  });

  it("refuses Auth0's issuer without its trailing slash, and accepts it with", async () => {
    const auth0Claims = { aud: 'https://api.example.com', sub: 'auth0|abc' };
    const withoutSlash = await signToken(key, { ...auth0Claims, iss: jwks.origin });
    expect((await refusal(verifier.verify(withoutSlash))).reason).toMatch(/unknown issuer/);
    const withSlash = await signToken(key, { ...auth0Claims, iss: `${jwks.origin}/` });
    await expect(verifier.verify(withSlash)).resolves.toMatchObject({ id: 'auth0|auth0|abc' });
  });

  it('refuses another audience', async () => {
    const error = await refusal(verifier.verify(await signed({ aud: ['other', 'api2'] })));
    expect([error.code, error.reason]).toEqual([
      'AUTH_TOKEN_INVALID',
      'unexpected "aud" claim value',
    ]);
  });

  it('refuses an unknown crit header', async () => {
    const token = await signed({}, { header: { crit: ['exp-policy'], 'exp-policy': 1 } });
    const error = await refusal(verifier.verify(token));
    expect(error.reason).toBe('a critical header extension (crit) is not supported');
  });

  it('refuses a tampered payload', async () => {
    const [header, , signature] = (await signed({ roles: ['user'] })).split('.');
    const payload = encodePart({ ...claims(), roles: ['admin'], iat: now(), exp: now() + 60 });
    const error = await refusal(verifier.verify(`${header}.${payload}.${signature}`));
    expect([error.code, error.reason]).toEqual([
      'AUTH_TOKEN_INVALID',
      'signature verification failed',
    ]);
  });

  it('refuses a token over 8 KiB unread, and accepts one just under', async () => {
    const padded = async (bytes: number) => {
      const base = (await signed({ pad: '' })).length;
      return signed({ pad: 'x'.repeat(Math.floor(((bytes - base) * 3) / 4)) });
    };
    const under = await padded(8_100);
    expect(under.length).toBeLessThanOrEqual(8_192);
    await expect(verifier.verify(under)).resolves.toMatchObject({ subject: 'user-1' });
    const over = await padded(8_300);
    expect(over.length).toBeGreaterThan(8_192);
    const error = await refusal(verifier.verify(over));
    expect([error.code, error.reason]).toEqual([
      'AUTH_TOKEN_TOO_LARGE',
      `${over.length} bytes, over 8192`,
    ]);
  });

  it('refuses no token as missing, and junk as invalid', async () => {
    expect((await refusal(verifier.verify(''))).code).toBe('AUTH_TOKEN_MISSING');
    expect((await refusal(verifier.verify('not.a-jwt'))).code).toBe('AUTH_TOKEN_INVALID');
    expect((await refusal(verifier.verify('a.b.c.d.e'))).code).toBe('AUTH_TOKEN_INVALID');
  });

  it('logs each refusal at debug with the provider, never the token', async () => {
    const token = await signed({ aud: 'other' });
    await refusal(verifier.verify(token));
    const line = logs.lines.at(-1)!;
    expect(line).toMatchObject({ level: 20, provider: 'jwt', code: 'AUTH_TOKEN_INVALID' });
    expect(logs.text()).not.toContain(token.split('.')[2]);
    expect(logs.text()).not.toContain(token.split('.')[1]);
  });
});

describe('the key set', () => {
  it('refetches at most once per cooldown, however many unknown kids arrive', async () => {
    const current = await makeSigningKey('ES256');
    const server = await startJwksServer([current]);
    const cooled = createTokenVerifier(
      [jwtAdapter({ issuer: ISSUER, audience: 'api', jwksUrl: server.url, algorithms: ['ES256'] })],
      { ...defaults, jwksCooldown: 500 },
    );
    try {
      await cooled.verify(await signToken(current, claims()));
      expect(server.fetches).toBe(1);
      const storm = async () => {
        const strangers = await Promise.all(
          Array.from({ length: 50 }, (_, index) => makeSigningKey('ES256', `unknown-${index}`)),
        );
        const tokens = await Promise.all(
          strangers.map((stranger) => signToken(stranger, claims())),
        );
        const errors = await Promise.all(tokens.map((token) => refusal(cooled.verify(token))));
        expect(new Set(errors.map((error) => error.code))).toEqual(new Set(['AUTH_TOKEN_INVALID']));
      };
      await storm();
      expect(server.fetches).toBe(1);
      await sleep(600);
      await storm();
      expect(server.fetches).toBe(2);
      // A rotated key is picked up by that one refetch once the cooldown has passed.
      const rotated = await makeSigningKey('ES256');
      server.setKeys([rotated]);
      await sleep(600);
      await expect(cooled.verify(await signToken(rotated, claims()))).resolves.toBeDefined();
      expect(server.fetches).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('answers 503 AUTH_PROVIDER_UNAVAILABLE when the key set is down, and caches no refusal', async () => {
    const server = await startJwksServer([key]);
    server.setDown(true);
    const outage = createTokenVerifier(
      [jwtAdapter({ issuer: ISSUER, audience: 'api', jwksUrl: server.url, algorithms: ['RS256'] })],
      defaults,
    );
    try {
      const token = await signed();
      const error = await refusal(outage.verify(token));
      expect([error.status, error.code]).toEqual([503, 'AUTH_PROVIDER_UNAVAILABLE']);
      server.setDown(false);
      await expect(outage.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
    } finally {
      await server.close();
    }
  });

  it('gives up on a key set slower than jwksTimeout', async () => {
    const silent = createServer(() => {});
    const origin = await listenLocal(silent);
    const slow = createTokenVerifier(
      [
        jwtAdapter({
          issuer: ISSUER,
          audience: 'api',
          jwksUrl: `${origin}/jwks`,
          algorithms: ['RS256'],
        }),
      ],
      { ...defaults, jwksTimeout: 200 },
    );
    try {
      const started = Date.now();
      const error = await refusal(slow.verify(await signed()));
      expect(error.code).toBe('AUTH_PROVIDER_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await closeServer(silent);
    }
  });
});

describe('configuration refused at construction', () => {
  it('refuses an HMAC secret under 32 bytes, naming the option', () => {
    const short = jwtAdapter({
      issuer: ISSUER,
      audience: 'api',
      secret: 'only-31-bytes-long-not-enough!!',
      algorithms: ['HS256'],
    });
    expect(short.problems).toEqual([
      { option: 'secret', message: expect.stringMatching(/at least 32 bytes \(got 31\)/) },
    ]);
    expect(() => createTokenVerifier([short], defaults)).toThrow(ConfigError);
    expect(() => createTokenVerifier([short], defaults)).toThrow(/providers\.0\.secret/);
    const parsed = authOptionsSchema.safeParse({ providers: [short] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'providers.0.secret',
    ]);
    const enough = jwtAdapter({
      issuer: ISSUER,
      audience: 'api',
      secret: 'x'.repeat(32),
      algorithms: ['HS256'],
    });
    expect(() => createTokenVerifier([enough], defaults)).not.toThrow();
  });

  it('refuses two providers with one issuer', () => {
    const one = jwtAdapter({
      issuer: ISSUER,
      audience: 'a',
      secret: 'x'.repeat(32),
      algorithms: ['HS256'],
    });
    const two = jwtAdapter({
      issuer: ISSUER,
      audience: 'b',
      secret: 'y'.repeat(32),
      algorithms: ['HS256'],
      name: 'two',
    });
    expect(() => createTokenVerifier([one, two], defaults)).toThrow(/providers\.1\.issuer/);
  });
});

describe('bearerOf', () => {
  it('takes the token from Authorization: Bearer only, in any case, never from the query', async () => {
    const server = createServer((req, res) => {
      res.end(JSON.stringify({ token: bearerOf(req) ?? null }));
    });
    const origin = await listenLocal(server);
    const seen = async (path: string, authorization?: string) => {
      const res = await fetch(`${origin}${path}`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      return ((await res.json()) as { token: string | null }).token;
    };
    try {
      expect(await seen('/', 'Bearer abc.def.ghi')).toBe('abc.def.ghi');
      expect(await seen('/', 'bearer abc.def.ghi')).toBe('abc.def.ghi');
      expect(await seen('/', 'BEARER abc.def.ghi')).toBe('abc.def.ghi');
      expect(await seen('/?access_token=abc.def.ghi')).toBeNull();
      expect(await seen('/?access_token=abc.def.ghi', 'Basic dXNlcjpwYXNz')).toBeNull();
      expect(await seen('/', 'Bearer')).toBeNull();
      expect(await seen('/', 'Bearer two tokens')).toBeNull();
      expect(await seen('/')).toBeNull();
    } finally {
      await closeServer(server);
    }
  });
});
