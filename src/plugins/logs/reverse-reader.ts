import type { FileHandle } from 'node:fs/promises';

const NEWLINE = 0x0a;

/** Counters a reader adds to, so callers (and tests) can see how much of a file was touched. */
export interface ReadStats {
  /** Bytes read from disk. */
  bytesRead: number;
  /** `read()` calls made. */
  reads: number;
  /** Lines dropped because they were longer than `maxLineLength`. */
  oversizedLines: number;
}

export function emptyReadStats(): ReadStats {
  return { bytesRead: 0, reads: 0, oversizedLines: 0 };
}

export interface ReverseReaderOptions {
  /** Bytes fetched per positioned read. */
  chunkSize: number;
  /** Longer lines are skipped, which bounds the carried partial line. */
  maxLineLength: number;
}

/** One complete line and the byte offset where it starts in the file. */
export interface FileLine {
  text: string;
  start: number;
}

/**
 * Reads a file's lines backwards, from `end` towards the start, with positioned reads of
 * `chunkSize` bytes. At any time it holds one chunk plus one partial line (at most
 * `maxLineLength` bytes) plus the complete lines split out of the current chunk, so memory is
 * bounded by about `2 * chunkSize + maxLineLength` whatever the file size.
 *
 * Only lines terminated by a newline are returned: the bytes after the last newline before
 * `end` are a line still being written and are skipped.
 */
export class ReverseLineReader {
  private position: number;
  /** Bytes between `position` and the earliest newline seen so far: the start of a line not yet complete. */
  private carry: Buffer = Buffer.alloc(0);
  /** True while the carried line must be dropped (the unterminated tail, or a line over the limit). */
  private discarding = true;
  private readonly ready: FileLine[] = [];

  constructor(
    private readonly handle: FileHandle,
    end: number,
    private readonly options: ReverseReaderOptions,
    private readonly stats: ReadStats,
  ) {
    this.position = end;
  }

  /** The next line towards the start of the file, or undefined at the start. */
  async next(): Promise<FileLine | undefined> {
    while (this.ready.length === 0) {
      if (this.position === 0) return this.finish();
      await this.readChunk();
    }
    return this.ready.shift();
  }

  /** The first line of the file has no newline before it; it is complete once position 0 is reached. */
  private finish(): FileLine | undefined {
    const carry = this.carry;
    const discarding = this.discarding;
    this.carry = Buffer.alloc(0);
    this.discarding = false;
    if (discarding || carry.length === 0) return undefined;
    return { text: carry.toString('utf8'), start: 0 };
  }

  private async readChunk(): Promise<void> {
    const size = Math.min(this.options.chunkSize, this.position);
    const start = this.position - size;
    const buffer = Buffer.allocUnsafe(size + this.carry.length);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await this.handle.read(buffer, filled, size - filled, start + filled);
      this.stats.reads++;
      this.stats.bytesRead += bytesRead;
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    // A file cut shorter under us (truncated by hand): treat the missing bytes as absent.
    if (filled < size) buffer.fill(NEWLINE, filled, size);
    this.carry.copy(buffer, size);
    this.position = start;

    let lineEnd = buffer.length;
    let newline = lineEnd > 0 ? buffer.lastIndexOf(NEWLINE, lineEnd - 1) : -1;
    while (newline !== -1) {
      this.emit(buffer, newline + 1, lineEnd, start);
      lineEnd = newline;
      newline = lineEnd > 0 ? buffer.lastIndexOf(NEWLINE, lineEnd - 1) : -1;
    }
    if (lineEnd > this.options.maxLineLength) {
      this.stats.oversizedLines += this.discarding ? 0 : 1;
      this.discarding = true;
      this.carry = Buffer.alloc(0);
    } else {
      // Copy, so the chunk buffer can be collected.
      this.carry = this.discarding ? Buffer.alloc(0) : Buffer.from(buffer.subarray(0, lineEnd));
    }
  }

  private emit(buffer: Buffer, from: number, to: number, chunkStart: number): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    const length = to - from;
    if (length === 0) return;
    if (length > this.options.maxLineLength) {
      this.stats.oversizedLines++;
      return;
    }
    this.ready.push({ text: buffer.toString('utf8', from, to), start: chunkStart + from });
  }
}
