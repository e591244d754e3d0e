import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { WebSocketServer } from 'ws';
import { createApp, type App, type AppOptions } from '../../../index.js';
import { captureLogs } from '../../../../test/support/http.js';
import { jwtAdapter } from '../adapters/jwt.js';
import type { AuthProvider } from '../types.js';

export const ISSUER = 'https://id.test.example';
export const AUDIENCE = 'https://api.test.example';
/** The gateway's forward secret, as the service is given it too. */
export const FORWARD_SECRET = 'forward-secret-of-at-least-32-characters!';

/** An ES256 issuer this test owns: its provider, and tokens it signs. */
export interface TestIssuer {
  provider: AuthProvider;
  token(
    claims?: JWTPayload & { sub?: string },
    options?: { expiresIn?: string | number },
  ): Promise<string>;
}

export async function testIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
  const provider = jwtAdapter({
    issuer: ISSUER,
    audience: AUDIENCE,
    publicKeys: [jwk as { kty: string }],
    algorithms: ['ES256'],
  });
  return {
    provider,
    token: ({ sub = 'alice', ...claims } = {}, { expiresIn = '5m' } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey),
  };
}

export interface EchoUpstream {
  url: string;
  /** Headers of every request and upgrade the upstream got, in order. */
  seen: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A real service stand-in: answers each request with the headers it got; echoes WebSockets. */
export async function echoUpstream(): Promise<EchoUpstream> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.push(req.headers);
    wss.handleUpgrade(req, socket, head, (ws) =>
      ws.on('message', (data) => ws.send(`echo: ${String(data)}`)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface StartedApp {
  app: App;
  url: string;
  logs: Record<string, unknown>[];
}

/** createApp on a free loopback port, logs captured. */
export async function startApp(
  plugins: NonNullable<AppOptions['plugins']>,
  name = 'auth-test',
): Promise<StartedApp> {
  const capture = captureLogs();
  const app = createApp({
    name,
    port: 0,
    host: '127.0.0.1',
    logger: { destination: capture.stream, level: 'info', stdout: false },
    shutdown: { signals: false, readinessDelay: 0, drainTimeout: 1_000 },
    plugins,
  });
  await app.start();
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, logs: capture.lines };
}

/** A built panel UI in miniature (just index.html), so guard tests need no UI build. */
export function panelUi(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'auth-panel-ui-'));
  writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8" /><title>Panel</title></head><body></body></html>',
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
