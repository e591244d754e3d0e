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

/** Rotations seen while opening before settling for what is open (each retry costs a few opens). */
const SNAPSHOT_ATTEMPTS = 4;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** The active file and its rotated siblings (`<path>.1` newest), newest first. */
async function logFileNames(activePath: string): Promise<string[]> {
  const directory = path.dirname(activePath);
  const base = path.basename(activePath);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const rotated = names
    .map((name) => (name.startsWith(`${base}.`) ? name.slice(base.length + 1) : ''))
    .filter((suffix) => /^\d{1,6}$/.test(suffix))
    .map(Number)
    .sort((a, b) => a - b)
    .map((index) => path.join(directory, `${base}.${index}`));
  return [activePath, ...rotated];
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
    return { path: file, handle, dev: String(info.dev), ino: String(info.ino), size: Number(info.size) };
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
    try {
      for (const name of await logFileNames(activePath)) {
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
      if (attempt >= SNAPSHOT_ATTEMPTS || (await stillInPlace(files))) return files;
    } catch (error) {
      await closeLogFiles(files);
      throw error;
    }
    await closeLogFiles(files);
  }
}

export async function closeLogFiles(files: OpenLogFile[]): Promise<void> {
  await Promise.all(files.map((file) => file.handle.close().catch(() => undefined)));
}
