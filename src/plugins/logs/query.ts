import { HttpError } from '../../core/errors.js';
import { encodeCursor, fingerprintOf, type LogCursor } from './cursor.js';
import { entryMatches, parseLine, rawMayMatch, rawTime } from './filter.js';
import { closeLogFiles, openLogFiles, type OpenLogFile } from './log-files.js';
import type { PageRequest } from './params.js';
import {
  ReverseLineReader,
  emptyReadStats,
  type ReadStats,
  type ReverseReaderOptions,
} from './reverse-reader.js';

/** One page of `GET /api/logs`: newest first; `nextCursor` when older lines may remain. */
export interface LogPage {
  entries: Record<string, unknown>[];
  nextCursor?: string;
}

export interface QuerySettings extends ReverseReaderOptions {
  /** Bytes one page may read before it answers with what it found and a cursor to go on. */
  maxScanBytes: number;
}

/** Finds the file a cursor names, wherever rotation has moved it since. */
async function locate(files: OpenLogFile[], cursor: LogCursor, stats: ReadStats): Promise<number> {
  for (let index = 0; index < files.length; index++) {
    const file = files[index];
    if (file.dev !== cursor.dev || file.ino !== cursor.ino) continue;
    if (
      file.size >= cursor.offset &&
      (await fingerprintOf(file.handle, cursor.offset, stats)) === cursor.fingerprint
    )
      return index;
  }
  throw new HttpError(
    410,
    'LOGS_CURSOR_EXPIRED',
    'The log file this cursor points into has been rotated away or replaced; start again without a cursor.',
  );
}

/** A cursor that resumes before `offset` in `files[index]`, or in the next older file when the offset is its start. */
async function cursorAt(
  files: OpenLogFile[],
  index: number,
  offset: number,
  stats: ReadStats,
): Promise<string | undefined> {
  let fileIndex = index;
  let position = offset;
  while (position === 0) {
    fileIndex++;
    if (fileIndex >= files.length) return undefined;
    position = files[fileIndex].size;
  }
  const file = files[fileIndex];
  const fingerprint = await fingerprintOf(file.handle, position, stats);
  return encodeCursor({ dev: file.dev, ino: file.ino, offset: position, fingerprint });
}

/**
 * Reads one page of entries, newest first, across the active file and its rotated files. Each
 * file is read from the end in chunks; the scan stops when the page is full, when an entry older
 * than `since` shows up (lines are time-ordered), or after `maxScanBytes`. `stats` counts what
 * this page read.
 */
export async function queryLogs(
  activePath: string,
  request: PageRequest,
  settings: QuerySettings,
  stats: ReadStats = emptyReadStats(),
  signal?: AbortSignal,
): Promise<LogPage> {
  const files = await openLogFiles(activePath);
  try {
    const entries: Record<string, unknown>[] = [];
    if (files.length === 0 && !request.cursor) return { entries };
    let index = request.cursor ? await locate(files, request.cursor, stats) : 0;
    let end = request.cursor ? request.cursor.offset : files[0].size;
    const { filter } = request;

    for (; index < files.length; index++, end = files[index]?.size ?? 0) {
      const reader = new ReverseLineReader(files[index].handle, end, settings, stats);
      for (let line = await reader.next(); line; line = await reader.next()) {
        if (signal?.aborted) return { entries };
        if (rawMayMatch(line.text, filter)) {
          const parsed = parseLine(line.text);
          if (
            parsed &&
            filter.since !== undefined &&
            parsed.time !== undefined &&
            parsed.time < filter.since
          ) {
            return { entries };
          }
          if (parsed && entryMatches(parsed, filter)) {
            entries.push(parsed.entry);
            if (entries.length >= request.limit)
              return { entries, nextCursor: await cursorAt(files, index, line.start, stats) };
          }
        } else if (filter.since !== undefined) {
          // The text filter rejected it, but an old enough line still ends the scan.
          const time = rawTime(line.text);
          if (time !== undefined && time < filter.since) return { entries };
        }
        if (stats.bytesRead >= settings.maxScanBytes)
          return { entries, nextCursor: await cursorAt(files, index, line.start, stats) };
      }
    }
    return { entries };
  } finally {
    await closeLogFiles(files);
  }
}
