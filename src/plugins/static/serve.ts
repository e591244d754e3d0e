import path from 'node:path';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from '../../core/errors.js';
import type { StaticConfig } from './options.js';
import { acceptsHtml, hasExtension, negotiateEncoding, parseRequestPath } from './request.js';
import type { FileInfo, Site } from './site.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const EXTENSIONS = { br: '.br', gzip: '.gz' } as const;

function cacheControlFor(relative: string, config: StaticConfig): string {
  const name = path.posix.basename(relative);
  // HTML names the hashed assets of its release, so it must be revalidated every time.
  if (name === config.index || /\.html?$/i.test(name)) return 'no-cache';
  if (config.cache.immutable && config.cache.hashPattern.test(name)) return IMMUTABLE;
  return `public, max-age=${Math.floor(config.cache.maxAge / 1000)}`;
}

function encodePath(relative: string): string {
  return `/${relative.split('/').map(encodeURIComponent).join('/')}`;
}

/** Hands the chosen file (or its precompressed sibling) to send, then puts the request back. */
function sendFile(
  site: Site,
  relative: string,
  info: FileInfo & { kind: 'file' },
  config: StaticConfig,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  const coding = negotiateEncoding(req.headers['accept-encoding'], info);
  if (info.br || info.gzip) res.vary('Accept-Encoding');
  res.setHeader('Cache-Control', cacheControlFor(relative, config));
  if (coding) {
    // send would type `app.js.br` by its last extension; the type is the original file's.
    res.type(path.posix.extname(relative) || 'application/octet-stream');
    res.setHeader('Content-Encoding', coding);
  }
  const originalUrl = req.url;
  req.url = encodePath(coding ? relative + EXTENSIONS[coding] : relative);
  site.send(req, res, (error?: unknown) => {
    req.url = originalUrl;
    // The file vanished or a precondition failed: what follows must not claim our encoding.
    if (!res.headersSent)
      for (const header of ['Content-Encoding', 'Content-Type', 'Cache-Control'])
        res.removeHeader(header);
    next(error);
  });
}

/**
 * Serves files of the active site: the file itself, a folder's index, or (for an SPA) the index
 * for a GET/HEAD of an extension-less path that accepts HTML. Anything else falls through to
 * the app's 404, so the static handler never answers for a route it does not own.
 */
export function createStaticHandler(
  config: StaticConfig,
  currentSite: () => Site | undefined,
): RequestHandler {
  const mountPrefix = config.mountPath === '/' ? '' : config.mountPath;
  const mountLength = mountPrefix.length;
  const excluded = config.spaExclude.map((prefix) => prefix.replace(/\/$/, '').toLowerCase());
  const isExcluded = (pathname: string) =>
    excluded.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));

  return async (req, res, next) => {
    // One read of the reference: a release activated meanwhile does not affect this request.
    const site = currentSite();
    if (!site) return next();
    const parsed = parseRequestPath(req.originalUrl, mountLength);
    if (parsed.kind === 'invalid')
      return next(
        new HttpError(400, 'STATIC_PATH_INVALID', `The path cannot be served: ${parsed.reason}.`),
      );
    if (parsed.kind === 'hidden') return next();

    const relative = parsed.segments.join('/');
    const info = relative === '' ? { kind: 'directory' as const } : await site.lookup(relative);
    if (info?.kind === 'file' && !parsed.trailingSlash)
      return sendFile(site, relative, info, config, req, res, next);
    if (info?.kind === 'directory' && config.index) {
      const indexPath = relative === '' ? config.index : `${relative}/${config.index}`;
      const index = await site.lookup(indexPath);
      if (index?.kind === 'file') {
        if (!parsed.trailingSlash && relative !== '') {
          // Relative links in the folder's index resolve against the folder only with the slash.
          const query = req.originalUrl.indexOf('?');
          return res.redirect(
            301,
            `${mountPrefix}${encodePath(relative)}/${query === -1 ? '' : req.originalUrl.slice(query)}`,
          );
        }
        return sendFile(site, indexPath, index, config, req, res, next);
      }
    }
    if (
      config.spa &&
      config.index &&
      !hasExtension(parsed.segments) &&
      acceptsHtml(req.headers.accept) &&
      !isExcluded(`${mountPrefix}/${relative}`.toLowerCase())
    ) {
      const index = await site.lookup(config.index);
      if (index?.kind === 'file')
        return sendFile(site, config.index, index, config, req, res, next);
    }
    next();
  };
}
