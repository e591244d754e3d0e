import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { closeServer, listenLocal, makeSigningKey, type SigningKey } from './keys.js';

/*
 * A stand-in for a Supabase project's Auth server (GoTrue behind the API gateway), following
 * the documented endpoints and shapes, on a real HTTP server on 127.0.0.1:
 *   POST /auth/v1/token?grant_type=password|refresh_token   (apikey header)
 *   GET  /auth/v1/user                                     (bearer + apikey)
 *   POST /auth/v1/logout                                   (bearer + apikey)
 *   GET  /auth/v1/.well-known/jwks.json                    (ES256 keys, or {"keys":[]} in legacy mode)
 */

export interface StandInUser {
  email: string;
  password: string;
  /** Default a random UUID. */
  id?: string;
  phone?: string;
  /** Merged over `{ provider: 'email', providers: ['email'] }`; only the service role writes it. */
  appMetadata?: Record<string, unknown>;
  /** Editable by the user: roles here must never count. */
  userMetadata?: Record<string, unknown>;
}

export interface SupabaseStandInOptions {
  /** `signing-keys`: ES256 with a published key (new projects). `legacy-hs256`: the JWT secret and an empty key set. */
  mode?: 'signing-keys' | 'legacy-hs256';
  users?: readonly StandInUser[];
  /** The legacy JWT secret (signs the API keys, and tokens in legacy mode). Default random. */
  jwtSecret?: string;
  /** Access-token lifetime in seconds. Default 3600, Supabase's default. */
  accessTokenTtl?: number;
}

export interface SupabaseStandIn {
  /** The project URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** `<url>/auth/v1` */
  issuer: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  /** The ES256 key in `signing-keys` mode. */
  signingKey: SigningKey | undefined;
  /** Requests for the key set so far. */
  readonly jwksFetches: number;
  /** Signs an access token for a known user as a password login would (no refresh token). */
  accessTokenFor(email: string, claims?: JWTPayload): Promise<string>;
  /**
   * A JWT with `role: anon` or `service_role` that is otherwise signed like a user's token
   * (issuer, `aud: authenticated`), as a verifier must refuse.
   */
  keyToken(role: 'anon' | 'service_role'): Promise<string>;
  close(): Promise<void>;
}

interface StoredUser extends Required<Omit<StandInUser, 'appMetadata' | 'userMetadata'>> {
  appMetadata: Record<string, unknown>;
  userMetadata: Record<string, unknown>;
  createdAt: string;
}

interface RefreshRecord {
  userId: string;
  sessionId: string;
  used: boolean;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Starts the stand-in; `close()` stops it. */
export async function startSupabaseStandIn(
  options: SupabaseStandInOptions = {},
): Promise<SupabaseStandIn> {
  const legacy = options.mode === 'legacy-hs256';
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('base64');
  const secretKey = new TextEncoder().encode(jwtSecret);
  const signingKey = legacy ? undefined : await makeSigningKey('ES256');
  const ttl = options.accessTokenTtl ?? 3600;
  const users = new Map<string, StoredUser>();
  const refreshTokens = new Map<string, RefreshRecord>();
  let jwksFetches = 0;

  const addUser = (user: StandInUser) =>
    users.set(user.email.toLowerCase(), {
      email: user.email,
      password: user.password,
      id: user.id ?? randomUUID(),
      phone: user.phone ?? '',
      appMetadata: { provider: 'email', providers: ['email'], ...user.appMetadata },
      userMetadata: { ...user.userMetadata },
      createdAt: new Date().toISOString(),
    });
  for (const user of options.users ?? []) addUser(user);

  const sign = (payload: JWTPayload) => {
    const jwt = new SignJWT(payload);
    return signingKey
      ? jwt
          .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'JWT' })
          .sign(signingKey.privateKey)
      : jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secretKey);
  };
  const apiKey = (role: 'anon' | 'service_role') => {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: 'supabase', ref: 'standin', role, iat, exp: iat + 10 * 365 * 86_400 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(secretKey);
  };
  const anonKey = await apiKey('anon');
  const serviceRoleKey = await apiKey('service_role');

  const origin = { url: '' };
  const issuer = () => `${origin.url}/auth/v1`;

  const userJson = (user: StoredUser) => ({
    id: user.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: user.email,
    email_confirmed_at: user.createdAt,
    phone: user.phone,
    confirmed_at: user.createdAt,
    last_sign_in_at: new Date().toISOString(),
    app_metadata: user.appMetadata,
    user_metadata: user.userMetadata,
    identities: [],
    created_at: user.createdAt,
    updated_at: user.createdAt,
    is_anonymous: false,
  });

  const accessToken = (user: StoredUser, sessionId: string, extra: JWTPayload = {}) => {
    const iat = Math.floor(Date.now() / 1000);
    return sign({
      iss: issuer(),
      sub: user.id,
      aud: 'authenticated',
      exp: iat + ttl,
      iat,
      email: user.email,
      phone: user.phone,
      app_metadata: user.appMetadata,
      user_metadata: user.userMetadata,
      role: 'authenticated',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: iat }],
      session_id: sessionId,
      is_anonymous: false,
      ...extra,
    });
  };

  const session = async (user: StoredUser, sessionId: string) => {
    const refreshToken = randomBytes(12).toString('base64url');
    refreshTokens.set(refreshToken, { userId: user.id, sessionId, used: false });
    const now = Math.floor(Date.now() / 1000);
    return {
      access_token: await accessToken(user, sessionId),
      token_type: 'bearer',
      expires_in: ttl,
      expires_at: now + ttl,
      refresh_token: refreshToken,
      user: userJson(user),
    };
  };

  const userById = (id: string) => [...users.values()].find((user) => user.id === id);

  async function bearerUser(req: IncomingMessage) {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    try {
      const { payload } = signingKey
        ? await jwtVerify(token, signingKey.publicKey, {
            issuer: issuer(),
            audience: 'authenticated',
          })
        : await jwtVerify(token, secretKey, { issuer: issuer(), audience: 'authenticated' });
      const user = userById(String(payload.sub));
      return user ? { user, sessionId: String(payload.session_id) } : undefined;
    } catch {
      return undefined;
    }
  }

  async function token(req: IncomingMessage, res: ServerResponse, grant: string | null) {
    const body = await readJson(req);
    if (grant === 'password') {
      const user = users.get(String(body.email ?? '').toLowerCase());
      if (!user || user.password !== body.password)
        return json(res, 400, {
          code: 'invalid_credentials',
          message: 'Invalid login credentials',
        });
      return json(res, 200, await session(user, randomUUID()));
    }
    if (grant === 'refresh_token') {
      const record = refreshTokens.get(String(body.refresh_token ?? ''));
      if (!record)
        return json(res, 400, {
          code: 'refresh_token_not_found',
          message: 'Invalid Refresh Token: Refresh Token Not Found',
        });
      if (record.used)
        return json(res, 400, {
          code: 'refresh_token_already_used',
          message: 'Invalid Refresh Token: Already Used',
        });
      record.used = true;
      const user = userById(record.userId)!;
      return json(res, 200, await session(user, record.sessionId));
    }
    return json(res, 400, {
      code: 'validation_failed',
      message: 'unsupported_grant_type: use password or refresh_token',
    });
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', origin.url);
      if (req.method === 'GET' && url.pathname === '/auth/v1/.well-known/jwks.json') {
        jwksFetches++;
        const keys = signingKey
          ? [{ ...signingKey.publicJwk, key_ops: ['verify'], ext: true }]
          : [];
        return json(res, 200, { keys });
      }
      // The API gateway answers before Auth when the key is missing or unknown.
      const key = req.headers.apikey;
      if (key === undefined)
        return json(res, 401, {
          message: 'No API key found in request',
          hint: 'No `apikey` request header or url param was found.',
        });
      if (key !== anonKey && key !== serviceRoleKey)
        return json(res, 401, { message: 'Invalid API key' });
      if (req.method === 'POST' && url.pathname === '/auth/v1/token')
        return token(req, res, url.searchParams.get('grant_type'));
      if (url.pathname === '/auth/v1/user' || url.pathname === '/auth/v1/logout') {
        const caller = await bearerUser(req);
        if (!caller) return json(res, 403, { code: 'bad_jwt', message: 'invalid JWT' });
        if (req.method === 'GET' && url.pathname === '/auth/v1/user')
          return json(res, 200, userJson(caller.user));
        if (req.method === 'POST' && url.pathname === '/auth/v1/logout') {
          for (const record of refreshTokens.values())
            if (record.sessionId === caller.sessionId) record.used = true;
          return res.writeHead(204).end();
        }
      }
      return json(res, 404, { code: 'not_found', message: 'no such endpoint in the stand-in' });
    })().catch((error: unknown) => json(res, 500, { message: String(error) }));
  });
  origin.url = await listenLocal(server);

  return {
    url: origin.url,
    issuer: issuer(),
    anonKey,
    serviceRoleKey,
    jwtSecret,
    signingKey,
    get jwksFetches() {
      return jwksFetches;
    },
    async accessTokenFor(email, claims) {
      const user = users.get(email.toLowerCase());
      if (!user) throw new Error(`no stand-in user ${email}`);
      return accessToken(user, randomUUID(), claims);
    },
    async keyToken(role) {
      const iat = Math.floor(Date.now() / 1000);
      return sign({
        iss: issuer(),
        aud: 'authenticated',
        sub: randomUUID(),
        role,
        iat,
        exp: iat + 3600,
      });
    },
    close: () => closeServer(server),
  };
}
