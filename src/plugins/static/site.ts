import { stat } from 'node:fs/promises';
import path from 'node:path';
import express, { type RequestHandler } from 'express';
import type { StaticConfig } from './options.js';

/** What a lookup found at a path: a file (and which precompressed siblings exist) or a folder. */
export type FileInfo = { kind: 'file'; br: boolean; gzip: boolean } | { kind: 'directory' };

/**
 * One folder answered from: the whole root, or one release. Activating a release swaps the
 * Site object, so a request that already holds one finishes on it.
 */
export interface Site {
  version?: string;
  dir: string;
  /** Cached and asynchronous: no synchronous file system call per request. */
  lookup(relative: string): Promise<FileInfo | undefined>;
  /** serve-static (send) for this folder: ETag, Last-Modified, conditional requests, Range. */
  send: RequestHandler;
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (info) => info.isFile(),
    () => false,
  );
}

async function probe(file: string, config: StaticConfig): Promise<FileInfo | undefined> {
  const info = await stat(file).catch(() => undefined);
  if (!info) return undefined;
  if (info.isDirectory()) return { kind: 'directory' };
  if (!info.isFile()) return undefined;
  const [br, gzip] = await Promise.all([
    config.brotli && isFile(`${file}.br`),
    config.gzip && isFile(`${file}.gz`),
  ]);
  return { kind: 'file', br: br === true, gzip: gzip === true };
}

export function createSite(dir: string, version: string | undefined, config: StaticConfig): Site {
  const cache = new Map<string, { at: number; info: Promise<FileInfo | undefined> }>();
  const root = path.resolve(dir);
  return {
    version,
    dir: root,
    lookup(relative) {
      const now = Date.now();
      const hit = cache.get(relative);
      if (hit && now - hit.at < config.lookupCacheTtl) return hit.info;
      const absolute = path.join(root, relative);
      // Segments were already checked; this guards the join itself.
      if (absolute !== root && !absolute.startsWith(root + path.sep))
        return Promise.resolve(undefined);
      const info = probe(absolute, config);
      if (config.lookupCacheTtl > 0) {
        if (hit) cache.delete(relative);
        cache.set(relative, { at: now, info });
        if (cache.size > config.lookupCacheSize) cache.delete(cache.keys().next().value!);
      }
      return info;
    },
    send: express.static(root, {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      etag: true,
      lastModified: true,
      acceptRanges: true,
      // Cache-Control is decided per file kind before sending (see serve.ts).
      cacheControl: false,
      fallthrough: true,
    }),
  };
}
