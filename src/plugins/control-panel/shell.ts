import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestHandler } from 'express';
import type { RouteDefinition } from '../../core/plugin.js';
import { staticOptionsSchema } from '../static/options.js';
import { parseRequestPath } from '../static/request.js';
import { createStaticHandler } from '../static/serve.js';
import { createSite } from '../static/site.js';
import type { Branding } from './options.js';

/**
 * Everything comes from this origin: a closed network works, and an injected script elsewhere
 * cannot run. Inline styles are allowed because React sets them through the CSSOM anyway.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

/** Files neither hashed nor HTML (the favicon): an hour, then revalidated by ETag. */
const UNHASHED_MAX_AGE = 3_600_000;

/** The built UI inside the package: `<package root>/dist-ui/cpanel`, from src/ or dist/src/. */
export function defaultUiDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'dist-ui', 'cpanel');
    dir = path.dirname(dir);
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist-ui/cpanel');
}

function escapeAttribute(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

export interface PanelShellConfig {
  mountPath: string;
  branding: Branding;
  /** Where to send the browser to log in when the guard has no password form. */
  loginUrl?: string;
}

/**
 * index.html as the panel serves it, rendered once: `<base href>` for the mount path and the
 * panel's settings in a meta tag (no inline script, so the CSP can forbid them).
 */
function renderIndex(indexPath: string, shell: PanelShellConfig): string {
  const settings = escapeAttribute(JSON.stringify(shell));
  const injected = `\n    <base href="${escapeAttribute(shell.mountPath)}/" />\n    <meta name="cpanel-config" content="${settings}" />`;
  const source = readFileSync(indexPath, 'utf8');
  // After the charset declaration, which must stay within the first bytes of the document.
  const charset = /<meta charset="[^"]*"\s*\/?>/i.exec(source);
  return (
    charset
      ? source.replace(charset[0], `${charset[0]}${injected}`)
      : source.replace('<head>', `<head>${injected}`)
  ).replace(/<title>[^<]*<\/title>/, `<title>${escapeAttribute(shell.branding.title)}</title>`);
}

/**
 * The route that serves the panel's UI from `uiDir`: its files through the static plugin's
 * server (hashed assets immutable, precompressed `.br`/`.gz` siblings, ETag, traversal refused),
 * and the rendered index.html, never cached, for every other path, since each is a page of the
 * single-page app. The page is public (it holds no data; the API behind it is guarded) so the
 * login form can load. Unknown `api/` and `assets/` paths fall through to the app's 404.
 */
export function panelUiRoute(uiDir: string, shell: PanelShellConfig): RouteDefinition {
  const indexPath = path.join(uiDir, 'index.html');
  if (!existsSync(indexPath)) {
    throw new Error(
      `The control panel UI is not built: ${indexPath} is missing. Run \`npm run build:ui\` (or \`npm run build\`) first.`,
    );
  }
  const html = renderIndex(indexPath, shell);
  const { mountPath } = shell;
  const config = staticOptionsSchema.parse({
    root: uiDir,
    mountPath,
    index: false,
    releases: false,
    adminRoutes: false,
    cache: { maxAge: UNHASHED_MAX_AGE },
  });
  const site = createSite(uiDir, undefined, config);
  const files = createStaticHandler(config, () => site);
  const internal = [`${mountPath}/api/`, `${mountPath}/assets/`].map((prefix) =>
    prefix.toLowerCase(),
  );

  const page: RequestHandler = (_req, res) => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'same-origin');
    res.setHeader('cache-control', 'no-cache');
    // send adds the ETag and answers a matching If-None-Match with 304.
    res.type('html').send(html);
  };
  // The file on disk lacks the base href and settings: its name, however spelt, gets the page.
  const renderedIndex: RequestHandler = (req, res, next) => {
    const parsed = parseRequestPath(req.originalUrl, mountPath.length);
    if (parsed.kind === 'path' && parsed.segments.join('/').toLowerCase() === 'index.html')
      return page(req, res, next);
    next();
  };
  const nosniff: RequestHandler = (_req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    next();
  };
  const pageOrNotFound: RequestHandler = (req, res, next) => {
    const pathname = req.path.toLowerCase();
    if (internal.some((prefix) => pathname.startsWith(prefix))) return next();
    page(req, res, next);
  };

  return {
    method: 'get',
    path: `${mountPath}{/*rest}`,
    plane: 'control',
    // The API routes other plugins add under the panel (traffic, keys) come after this one: they
    // must meet a request first, so that it is counted once, for the operator their gate knows.
    except: [`${mountPath}/api/`],
    description: 'The control panel UI (index.html for every page route, hashed assets)',
    handler: [nosniff, renderedIndex, files, pageOrNotFound],
  };
}
