import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

let certificate: { key: string; cert: string } | undefined;

/** A throwaway self-signed certificate for 127.0.0.1, made once per test file with openssl. */
function selfSigned(): { key: string; cert: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qwick-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    certificate = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Terminates TLS in front of an app's own node:http server: each decrypted socket is handed to
 * that server as a connection, so handlers see `req.socket.encrypted`, as behind `https.createServer`.
 * @example const tlsUrl = await serveOverTls(app.server); await httpsGet(`${tlsUrl}/hello`)
 */
export async function serveOverTls(
  server: http.Server,
): Promise<{ url: string; close(): Promise<void> }> {
  const terminator = tls.createServer(selfSigned(), (socket) => server.emit('connection', socket));
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(terminator.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => terminator.close(() => resolve())),
  };
}

/** A GET over TLS that accepts the self-signed certificate; resolves with status and headers. */
export function httpsGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
  });
}
