import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { ReadStats } from './reverse-reader.js';

/**
 * Where the next page starts: a file, named by device and inode so the cursor follows the file
 * when rotation renames it, plus a fingerprint of its first bytes so a recycled inode is not
 * mistaken for it, plus the byte offset the next page reads backwards from.
 */
export interface LogCursor {
  dev: string;
  ino: string;
  offset: number;
  fingerprint: string;
}

/** Bytes hashed for the fingerprint. Only bytes before `offset` count: they never change, as log files only grow. */
const FINGERPRINT_BYTES = 256;

export function encodeCursor(cursor: LogCursor): string {
  return Buffer.from(
    JSON.stringify([1, cursor.dev, cursor.ino, cursor.offset, cursor.fingerprint]),
  ).toString('base64url');
}

/** The cursor, or undefined when the text is not one this plugin wrote. */
export function decodeCursor(text: string): LogCursor | undefined {
  if (text.length > 512 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 5 || value[0] !== 1) return undefined;
  const [, dev, ino, offset, fingerprint] = value as unknown[];
  const isDigits = (part: unknown): part is string =>
    typeof part === 'string' && /^\d{1,24}$/.test(part);
  if (!isDigits(dev) || !isDigits(ino)) return undefined;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset <= 0) return undefined;
  if (typeof fingerprint !== 'string' || !/^[0-9a-f]{16}$/.test(fingerprint)) return undefined;
  return { dev, ino, offset, fingerprint };
}

/** Hash of the first bytes of the file, up to `offset`. */
export async function fingerprintOf(
  handle: FileHandle,
  offset: number,
  stats: ReadStats,
): Promise<string> {
  const length = Math.min(offset, FINGERPRINT_BYTES);
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, filled);
    stats.reads++;
    stats.bytesRead += bytesRead;
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return createHash('sha256').update(buffer.subarray(0, filled)).digest('hex').slice(0, 16);
}
