import { mkdir, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ReadEntry } from 'tar';
import { ReleaseError } from './error.js';

export interface ExtractLimits {
  /** Most bytes the files of one release may hold once unpacked (a gzip bomb stops here). */
  maxUnpackedBytes: number;
  /** Most entries (files, folders, links) one release may hold. */
  maxEntries: number;
}

/** What a release may hold: files, folders and links that stay inside it. */
const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Why an entry may not be unpacked, or undefined when it may. */
export function entryProblem(entry: {
  path: string;
  type: string;
  linkpath?: string;
}): string | undefined {
  const name = entry.path;
  if (name.includes('\0')) return 'a name with a NUL byte';
  if (isAbsolute(name)) return 'an absolute path';
  if (segments(name).includes('..')) return 'a path with a ".." segment, which escapes the release';
  if (!ALLOWED.has(entry.type))
    return entry.type === 'FIFO' || entry.type.endsWith('Device')
      ? `a ${entry.type} (device files and FIFOs are refused)`
      : `an entry of type ${entry.type} (only files, folders and links inside the release are taken)`;
  const target = entry.linkpath ?? '';
  if (entry.type === 'SymbolicLink') {
    // A symbolic link resolves from its own folder.
    if (isAbsolute(target) || escapes(path.posix.join(path.posix.dirname(name), target)))
      return `a symbolic link to ${JSON.stringify(target.slice(0, 200))}, outside the release`;
  }
  if (entry.type === 'Link') {
    // A hard link names its target from the archive's root.
    if (isAbsolute(target) || escapes(target))
      return `a hard link to ${JSON.stringify(target.slice(0, 200))}, outside the release`;
  }
  return undefined;
}

const segments = (name: string) => name.split(/[/\\]+/);
const isAbsolute = (name: string) => /^(?:[/\\]|[A-Za-z]:)/.test(name);
/** True when the path, resolved lexically from the release's root, leaves it. */
const escapes = (name: string) => {
  const normal = path.posix.normalize(name.replaceAll('\\', '/'));
  return normal === '..' || normal.startsWith('../');
};

/**
 * The first symbolic link of the unpacked tree that does not resolve inside it. Each entry was
 * checked alone, by its text; links through other links (`a -> .`, then `b -> a/..`) are only
 * seen once all exist, so every link is resolved for real. A link that resolves nowhere is
 * refused too: what it would point at cannot be checked.
 */
async function linkOutside(into: string): Promise<ReleaseError | undefined> {
  const root = await realpath(into);
  const entries = await readdir(into, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isSymbolicLink()) continue;
    const link = path.join(entry.parentPath, entry.name);
    const name = path.relative(into, link);
    const target = await realpath(link).catch(() => undefined);
    if (target !== undefined && (target === root || target.startsWith(`${root}${path.sep}`)))
      continue;
    return new ReleaseError(
      'unsafe-entry',
      `The archive's entry ${JSON.stringify(name.slice(0, 200))} is a symbolic link that ${target === undefined ? 'resolves to nothing' : 'resolves outside the release'}. Nothing was stored.`,
      { entry: name.slice(0, 200) },
    );
  }
  return undefined;
}

/**
 * Unpacks a (gzipped) tarball into `into`, which must not exist yet, with node-tar. Every entry
 * is checked before it is written: an absolute path, a `..` segment, a link pointing outside,
 * a device file or FIFO, or more than the limits allow refuses the whole archive (naming the
 * first bad entry) and leaves nothing behind; once unpacked, every symbolic link is resolved and
 * must stay inside. node-tar itself never writes through a link. Owners are not restored and setuid, setgid and
 * sticky bits are dropped, even when the gateway runs as root.
 */
export async function extractArchive(
  file: string,
  into: string,
  limits: ExtractLimits,
): Promise<{ entries: number; bytes: number }> {
  const tar = await import('tar');
  await mkdir(path.dirname(into), { recursive: true, mode: 0o700 });
  await mkdir(into, { mode: 0o755 });
  let refusal: ReleaseError | undefined;
  let entries = 0;
  let bytes = 0;
  const refuse = (error: ReleaseError) => {
    refusal ??= error;
    return false;
  };
  const filter = (name: string, entry: ReadEntry | { size: number }) => {
    if (refusal) return false;
    const read = entry as ReadEntry;
    const problem = entryProblem({ path: name, type: read.type, linkpath: read.linkpath });
    if (problem)
      return refuse(
        new ReleaseError(
          'unsafe-entry',
          `The archive's entry ${JSON.stringify(name.slice(0, 200))} is ${problem}. Nothing was stored.`,
          { entry: name.slice(0, 200) },
        ),
      );
    entries += 1;
    bytes += read.size ?? 0;
    if (entries > limits.maxEntries || bytes > limits.maxUnpackedBytes)
      return refuse(
        new ReleaseError(
          'too-large',
          `The archive unpacks to more than ${limits.maxEntries} entries or ${limits.maxUnpackedBytes} bytes; raise releases.maxEntries or releases.maxUnpackedBytes to take it.`,
          { maxEntries: limits.maxEntries, maxUnpackedBytes: limits.maxUnpackedBytes },
        ),
      );
    if (typeof read.mode === 'number') read.mode &= 0o777;
    return true;
  };
  try {
    await tar.x({ file, cwd: into, strict: true, preserveOwner: false, filter });
  } catch (error) {
    await rm(into, { recursive: true, force: true });
    if (refusal) throw refusal;
    // node-tar's own guard against gzip bombs.
    if (/decompression ratio/.test((error as Error).message))
      throw new ReleaseError(
        'too-large',
        'The archive expands more than a thousandfold when unpacked (a gzip bomb?); nothing was stored.',
      );
    throw new ReleaseError(
      'invalid-archive',
      `The upload is not a readable tarball (${(error as Error).message.slice(0, 200)}): send a .tar.gz of the release's folder.`,
    );
  }
  refusal ??= await linkOutside(into);
  if (refusal || entries === 0) {
    await rm(into, { recursive: true, force: true });
    throw (
      refusal ??
      new ReleaseError('invalid-archive', 'The archive holds no files: there is nothing to run.')
    );
  }
  return { entries, bytes };
}
