import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** One open log file. The handle keeps reading the same file even if rotation renames it. */
export interface OpenLogFile {
  path: string;
  handle: FileHandle;
  dev: string;
  ino: string;
  /** Size when opened; a page never reads past it. */
  size: number;
}

/**
 * A rotation renames files one by one (highest number first) and only then reopens the active
 * file, so a listing taken meanwhile has a gap. We look again, briefly, until the set is whole;
 * past the last attempt (files removed by hand) we go with what is there.
 */
const SNAPSHOT_ATTEMPTS = 20;
const SNAPSHOT_RETRY_DELAY_MS = 5;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** The active file and its rotated siblings (`<path>.1` newest), newest first, and whether the set is whole. */
async function logFileNames(activePath: string): Promise<{ names: string[]; whole: boolean }> {
  const directory = path.dirname(activePath);
  const base = path.basename(activePath);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if (isMissing(error)) return { names: [], whole: true };
    throw error;
  }
  const indexes = names
    .map((name) => (name.startsWith(`${base}.`) ? name.slice(base.length + 1) : ''))
    .filter((suffix) => /^\d{1,6}$/.test(suffix))
    .map(Number)
    .sort((a, b) => a - b);
  // Whole: the active file is there and the rotated ones are numbered 1..n without a gap.
  const whole =
    (indexes.length === 0 || names.includes(base)) &&
    indexes.every((index, position) => index === position + 1);
  return {
    names: [activePath, ...indexes.map((index) => path.join(directory, `${base}.${index}`))],
    whole,
  };
}

async function openIdentified(file: string): Promise<OpenLogFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const info = await handle.stat({ bigint: true });
    return {
      path: file,
      handle,
      dev: String(info.dev),
      ino: String(info.ino),
      size: Number(info.size),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** True when every name still points at the file opened under it (no rotation happened meanwhile). */
async function stillInPlace(files: OpenLogFile[]): Promise<boolean> {
  for (const file of files) {
    const info = await stat(file.path, { bigint: true }).catch(() => undefined);
    if (!info || String(info.ino) !== file.ino || String(info.dev) !== file.dev) return false;
  }
  return true;
}

/**
 * Opens the active file and every rotated file, newest first. Rotation renames files while we
 * open them, so the set is checked afterwards and opened again if a name moved; files are
 * de-duplicated by identity so a file seen under two names counts once.
 */
export async function openLogFiles(activePath: string): Promise<OpenLogFile[]> {
  for (let attempt = 1; ; attempt++) {
    const files: OpenLogFile[] = [];
    const seen = new Set<string>();
    let whole = false;
    try {
      const listing = await logFileNames(activePath);
      whole = listing.whole;
      for (const name of listing.names) {
        const file = await openIdentified(name);
        if (!file) continue;
        const identity = `${file.dev}:${file.ino}`;
        if (seen.has(identity)) {
          await file.handle.close();
          continue;
        }
        seen.add(identity);
        files.push(file);
      }
      if (attempt >= SNAPSHOT_ATTEMPTS || (whole && (await stillInPlace(files)))) return files;
    } catch (error) {
      await closeLogFiles(files);
      throw error;
    }
    await closeLogFiles(files);
    await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_RETRY_DELAY_MS));
  }
}

export async function closeLogFiles(files: OpenLogFile[]): Promise<void> {
  await Promise.all(files.map((file) => file.handle.close().catch(() => undefined)));
}
