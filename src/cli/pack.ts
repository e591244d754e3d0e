import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CliError } from './client.js';

export interface PackedRelease {
  file: string;
  size: number;
  sha256: string;
  /** Removes the tarball when it was packed here (a given one is left alone). */
  cleanup(): Promise<void>;
}

const TARBALL = /\.(?:tgz|tar\.gz)$/i;

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * The release to upload: a folder packed into a gzipped tarball (its contents at the archive's
 * root, links kept as links, owners and times left out) or a `.tgz` / `.tar.gz` as it is, with
 * its SHA-256 for the gateway to check.
 */
export async function packRelease(source: string): Promise<PackedRelease> {
  const info = await stat(source).catch(() => undefined);
  if (info?.isFile()) {
    if (!TARBALL.test(source))
      throw new CliError(
        `${source} is a file but not a .tgz or .tar.gz: give a folder, or a gzipped tarball.`,
        1,
      );
    return {
      file: source,
      size: info.size,
      sha256: await sha256Of(source),
      cleanup: async () => undefined,
    };
  }
  if (!info?.isDirectory())
    throw new CliError(`${source} is neither a folder nor a .tgz: there is nothing to release.`, 1);
  const names = await readdir(source);
  if (names.length === 0) throw new CliError(`${source} is empty: there is nothing to release.`, 1);
  const tar = await import('tar');
  const scratch = await mkdtemp(path.join(tmpdir(), 'qwickapps-release-'));
  const file = path.join(scratch, 'release.tgz');
  await tar.c({ file, gzip: true, cwd: source, portable: true }, names.sort());
  const packed = await stat(file);
  return {
    file,
    size: packed.size,
    sha256: await sha256Of(file),
    cleanup: () => rm(scratch, { recursive: true, force: true }),
  };
}
