import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supabaseAdapter } from './adapters/supabase.js';
import { authOptionsSchema } from './options.js';
import { refusal, signToken } from './test-support/keys.js';
import { startSupabaseStandIn, type SupabaseStandIn } from './test-support/supabase-standin.js';
import { createTokenVerifier } from './verifier.js';
import type { TokenVerifier } from './types.js';

const defaults = authOptionsSchema.shape.tokens.parse(undefined);
const ALICE = {
  email: 'alice@example.com',
  password: 'correct horse battery staple',
  appMetadata: { roles: ['editor'], role: 'billing' },
  userMetadata: { roles: ['admin'], role: 'owner', full_name: 'Alice Example' },
};

interface Session {
  access_token: string;
  token_type: string;
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: { id: string; email: string; app_metadata: Record<string, unknown> };
}

function post(project: SupabaseStandIn, grant: string, body: unknown, apikey = project.anonKey) {
  return fetch(`${project.url}/auth/v1/token?grant_type=${grant}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apikey ? { apikey } : {}) },
    body: JSON.stringify(body),
  });
}

async function login(project: SupabaseStandIn): Promise<Session> {
  const res = await post(project, 'password', { email: ALICE.email, password: ALICE.password });
  expect(res.status).toBe(200);
  return (await res.json()) as Session;
}

describe('a Supabase project with signing keys (ES256)', () => {
  let project: SupabaseStandIn;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    project = await startSupabaseStandIn({ users: [ALICE] });
    verifier = createTokenVerifier(
      [
        supabaseAdapter({
          url: project.url,
          anonKey: project.anonKey,
          jwtSecret: project.jwtSecret,
        }),
      ],
      defaults,
    );
  });
  afterAll(() => project.close());

  it("accepts a password login's access token, roles from app_metadata only", async () => {
    const session = await login(project);
    expect(session).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    const user = await verifier.verify(session.access_token);
    expect(user).toMatchObject({
      id: `supabase|${session.user.id}`,
      provider: 'supabase',
      issuer: `${project.url}/auth/v1`,
      email: ALICE.email,
      name: 'Alice Example',
      roles: ['editor', 'billing'],
      permissions: [],
    });
    expect(user.claims).toMatchObject({
      role: 'authenticated',
      aud: 'authenticated',
      aal: 'aal1',
      is_anonymous: false,
    });
    expect(typeof user.claims.session_id).toBe('string');
  });

  it('refuses the anon and service_role keys as tokens: they are not user logins', async () => {
    for (const role of ['anon', 'service_role'] as const) {
      const error = await refusal(verifier.verify(await project.keyToken(role)));
      expect([error.code, error.reason]).toEqual([
        'AUTH_TOKEN_INVALID',
        `a Supabase ${role} key is an API key, not a user login`,
      ]);
    }
    // The project's real API keys (issuer "supabase", HS256) are refused too.
    expect((await refusal(verifier.verify(project.anonKey))).reason).toMatch(/unknown issuer/);
  });

  it('refuses an HS256 token signed with the JWT secret once the project publishes keys', async () => {
    const secret = new TextEncoder().encode(project.jwtSecret);
    const token = await signToken(
      { alg: 'HS256', secret },
      { iss: project.issuer, aud: 'authenticated', sub: 'someone', role: 'authenticated' },
    );
    expect((await refusal(verifier.verify(token))).reason).toBe(
      'HS256 token, but the issuer publishes signing keys',
    );
  });

  it('answers the documented shapes: bad password, missing apikey, /user', async () => {
    const bad = await post(project, 'password', { email: ALICE.email, password: 'wrong' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_credentials' });
    const noKey = await post(project, 'password', ALICE, '');
    expect(noKey.status).toBe(401);
    const session = await login(project);
    const me = await fetch(`${project.url}/auth/v1/user`, {
      headers: { authorization: `Bearer ${session.access_token}`, apikey: project.anonKey },
    });
    expect(await me.json()).toMatchObject({ id: session.user.id, email: ALICE.email });
    const keys = await fetch(`${project.url}/auth/v1/.well-known/jwks.json`);
    expect(((await keys.json()) as { keys: { kty: string; alg: string }[] }).keys).toEqual([
      expect.objectContaining({ kty: 'EC', alg: 'ES256' }),
    ]);
  });

  it('rotates refresh tokens and refuses one already used', async () => {
    const session = await login(project);
    const refreshed = await post(project, 'refresh_token', {
      refresh_token: session.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as Session;
    expect(next.refresh_token).not.toBe(session.refresh_token);
    await expect(verifier.verify(next.access_token)).resolves.toMatchObject({
      subject: session.user.id,
    });
    const reused = await post(project, 'refresh_token', { refresh_token: session.refresh_token });
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ code: 'refresh_token_already_used' });
  });
});

describe('a legacy Supabase project (HS256, empty key set)', () => {
  let project: SupabaseStandIn;

  beforeAll(async () => {
    project = await startSupabaseStandIn({ mode: 'legacy-hs256', users: [ALICE] });
  });
  afterAll(() => project.close());

  it('accepts HS256 tokens with the JWT secret once the key set is seen empty', async () => {
    const verifier = createTokenVerifier(
      [
        supabaseAdapter({
          url: project.url,
          anonKey: project.anonKey,
          jwtSecret: project.jwtSecret,
        }),
      ],
      defaults,
    );
    const session = await login(project);
    const before = project.jwksFetches;
    await expect(verifier.verify(session.access_token)).resolves.toMatchObject({
      id: `supabase|${session.user.id}`,
      roles: ['editor', 'billing'],
    });
    expect(project.jwksFetches).toBe(before + 1);
  });

  it('refuses them without the JWT secret configured', async () => {
    const verifier = createTokenVerifier(
      [supabaseAdapter({ url: project.url, anonKey: project.anonKey })],
      defaults,
    );
    const session = await login(project);
    expect((await refusal(verifier.verify(session.access_token))).reason).toBe(
      'alg HS256 is not one of ES256, RS256',
    );
  });
});
