import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SignJWT,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { pino, type Logger } from 'pino';
import type { JsonWebKeyLike } from '../types.js';
import { AuthTokenError } from '../verifier.js';

/** Algorithms the helpers make key pairs for. */
export type SigningAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

export interface SigningKey {
  alg: SigningAlgorithm;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public key as a JWK, with `kid`, `alg` and `use: sig`, as a JWKS lists it. */
  publicJwk: JWK & JsonWebKeyLike;
  /** The public key as PEM (SPKI). */
  publicPem: string;
}

let kidCounter = 0;

/** A fresh key pair; `kid` defaults to a unique one. */
export async function makeSigningKey(alg: SigningAlgorithm, kid?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const id = kid ?? `${alg.toLowerCase()}-${++kidCounter}-${Date.now().toString(36)}`;
  return {
    alg,
    kid: id,
    privateKey,
    publicKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid: id, alg, use: 'sig' } as JWK &
      JsonWebKeyLike,
    publicPem: await exportSPKI(publicKey),
  };
}

export interface JwksServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The key set's URL (`<origin><path>`). */
  url: string;
  /** Requests for the key set so far. */
  readonly fetches: number;
  /** Requests to any path so far. */
  readonly requests: number;
  /** Serves these keys from now on (rotation, or an empty set). */
  setKeys(keys: readonly (SigningKey | JWK)[]): void;
  /** While true, answers 503 (an outage). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** Closes a server, ending kept-alive connections (fetch keeps them open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** Listens on 127.0.0.1 and a free port; resolves with the origin. */
export function listenLocal(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/**
 * A real HTTP server serving a JWK Set on 127.0.0.1, counting fetches, with keys that can be
 * swapped and an outage switch.
 */
export async function startJwksServer(
  keys: readonly (SigningKey | JWK)[],
  path = '/.well-known/jwks.json',
): Promise<JwksServer> {
  let served = keys;
  let down = false;
  let fetches = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.method !== 'GET' || req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    if (down) {
      res.writeHead(503).end();
      return;
    }
    const body = JSON.stringify({
      keys: served.map((key) => ('publicJwk' in key ? key.publicJwk : key)),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  const origin = await listenLocal(server);
  return {
    origin,
    url: `${origin}${path}`,
    get fetches() {
      return fetches;
    },
    get requests() {
      return requests;
    },
    setKeys(next) {
      served = next;
    },
    setDown(next) {
      down = next;
    },
    close: () => closeServer(server),
  };
}

export interface SignOptions {
  /** Header members added to (or overriding) `{ alg, kid, typ: 'JWT' }`. */
  header?: Partial<JWTHeaderParameters> & Record<string, unknown>;
  /** Seconds from `iat` to `exp`; `null` leaves `exp` out. Default 300. */
  expiresIn?: number | null;
  /** The `iat` (epoch seconds); `null` leaves it out. Default now. */
  issuedAt?: number | null;
}

/**
 * A signed JWT with `iat` and `exp` filled in unless told otherwise; `claims` are set as given
 * (`iss`, `aud`, `sub` included).
 */
export async function signToken(
  key: SigningKey | { alg: string; secret: Uint8Array; kid?: string },
  claims: JWTPayload,
  options: SignOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const issuedAt = options.issuedAt === undefined ? now : options.issuedAt;
  const expiresIn = options.expiresIn === undefined ? 300 : options.expiresIn;
  const payload: JWTPayload = { ...claims };
  if (issuedAt !== null && payload.iat === undefined) payload.iat = issuedAt;
  if (expiresIn !== null && payload.exp === undefined) payload.exp = (issuedAt ?? now) + expiresIn;
  const header = {
    alg: key.alg,
    typ: 'JWT',
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    ...options.header,
  } as JWTHeaderParameters;
  const signer = new SignJWT(payload).setProtectedHeader(header);
  // jose refuses to sign a `crit` it doesn't know unless told it is understood.
  const crit = Object.fromEntries((header.crit ?? []).map((name) => [name, true]));
  return signer.sign('secret' in key ? key.secret : key.privateKey, { crit });
}

/** base64url of JSON, for hand-made tokens (`alg: none`, tampered payloads). */
export const encodePart = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

/** A real pino logger at debug that keeps its lines, to check what refusals log. */
export function collectLogs(): {
  logger: Logger;
  lines: Record<string, unknown>[];
  text(): string;
} {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines, text: () => raw.join('') };
}

/** The `AuthTokenError` a verification rejects with; fails when it resolves or throws anything else. */
export async function refusal(promise: Promise<unknown>): Promise<AuthTokenError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome))
    throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof AuthTokenError)) throw outcome.error;
  return outcome.error;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
