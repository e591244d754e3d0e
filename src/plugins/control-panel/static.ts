import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import type { Branding } from './options.js';

interface StaticFile {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;

/**
 * Everything comes from this origin: a closed network works, and an injected script elsewhere
 * cannot run. Inline styles are allowed because React sets them through the CSSOM anyway.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

/** The built UI inside the package: `<package root>/dist-ui/cpanel`, from src/ or dist/src/. */
export function defaultUiDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'dist-ui', 'cpanel');
    dir = path.dirname(dir);
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist-ui/cpanel');
}

function readTree(root: string, dir = root, out = new Map<string, StaticFile>()): Map<string, StaticFile> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      readTree(root, full, out);
      continue;
    }
    const body = readFileSync(full);
    const type = TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
    out.set(path.relative(root, full).split(path.sep).join('/'), toStaticFile(body, type));
  }
  return out;
}

function toStaticFile(body: Buffer, type: string): StaticFile {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, type, etag, gzip: COMPRESSIBLE.test(type) && body.length > 1024 ? gzipSync(body) : undefined };
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface PanelShellConfig {
  mountPath: string;
  branding: Branding;
  /** Where to send the browser to log in when the guard has no password form. */
  loginUrl?: string;
}

/**
 * Loads the built UI into memory (it is small) and answers from there. Hashed assets are
 * immutable; index.html is never cached, carries `<base href>` for the mount path and the
 * panel's settings in a meta tag (no inline script, so the CSP can forbid them).
 */
export function loadUi(uiDir: string, shell: PanelShellConfig): { asset: RequestHandler; index: RequestHandler } {
  const indexPath = path.join(uiDir, 'index.html');
  if (!existsSync(indexPath)) {
    throw new Error(`The control panel UI is not built: ${indexPath} is missing. Run \`npm run build:ui\` (or \`npm run build\`) first.`);
  }
  const files = readTree(uiDir);
  const settings = escapeAttribute(JSON.stringify(shell));
  const injected = `\n    <base href="${escapeAttribute(shell.mountPath)}/" />\n    <meta name="cpanel-config" content="${settings}" />`;
  const source = readFileSync(indexPath, 'utf8');
  // After the charset declaration, which must stay within the first bytes of the document.
  const charset = /<meta charset="[^"]*"\s*\/?>/i.exec(source);
  const html = (charset ? source.replace(charset[0], `${charset[0]}${injected}`) : source.replace('<head>', `<head>${injected}`)).replace(
    /<title>[^<]*<\/title>/,
    `<title>${escapeAttribute(shell.branding.title)}</title>`,
  );
  const indexFile = toStaticFile(Buffer.from(html), TYPES['.html']);

  const send = (req: Request, res: Response, file: StaticFile, cacheControl: string) => {
    res.setHeader('content-type', file.type);
    res.setHeader('cache-control', cacheControl);
    res.setHeader('etag', file.etag);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('vary', 'accept-encoding');
    if (req.headers['if-none-match'] === file.etag) return void res.status(304).end();
    const gzip = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) res.setHeader('content-encoding', 'gzip');
    const body = gzip ? file.gzip! : file.body;
    res.setHeader('content-length', String(body.length));
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const asset: RequestHandler = (req, res, next) => {
    let relative: string;
    try {
      relative = decodeURIComponent(req.path.slice(shell.mountPath.length + 1));
    } catch {
      return next();
    }
    const file = relative === 'index.html' ? undefined : files.get(relative);
    if (!file) return next();
    send(req, res, file, relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
  };

  const index: RequestHandler = (req, res) => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'same-origin');
    send(req, res, indexFile, 'no-cache');
  };

  return { asset, index };
}
