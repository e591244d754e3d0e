import { close, mkdirSync, openSync, statSync, write } from 'node:fs';
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DestinationStream } from 'pino';

/** Where a file destination writes, and when it rotates. */
export interface LogFileOptions {
  /** Path of the active NDJSON file; rotated files are `<path>.1`, `<path>.2`, ... (1 is newest). */
  path: string;
  /** Rotate once the active file grows past this many bytes. Default 10 MiB. */
  maxBytes?: number;
  /** How many rotated files to keep. Default 5. */
  maxFiles?: number;
  /** Milliseconds `flush` waits for pending writes before giving up. Default 5 000. */
  flushTimeout?: number;
  /** Buffered lines reach the file at least this often, in ms. Default 100. */
  flushInterval?: number;
  /** Lines held in memory while the disk is slow, in bytes, before new ones are dropped. Default 64 MiB. */
  maxBufferedBytes?: number;
}

/** A batch is written once it reaches this size (or on the flush timer). */
const BATCH_BYTES = 16 * 1024;

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * An NDJSON file that rotates by size. Lines are batched in memory and written with one
 * asynchronous `fs.write` at a time, at least every `flushInterval` ms: a fraction of the CPU a
 * write per line costs, and the event loop never waits on the disk. Rotation waits for the write
 * in flight, renames with async calls and reopens; lines logged meanwhile wait in memory, never lost.
 */
export class RotatingFileStream implements DestinationStream {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly flushTimeout: number;
  private readonly maxBufferedBytes: number;
  private fd: number;
  /** After a rotation the descriptor comes from an async open; the handle keeps it alive. */
  private handle: FileHandle | undefined;
  private parts: string[] = [];
  private buffered = 0;
  /** Bytes in the active file, counting those still buffered. */
  private bytes: number;
  private writing = false;
  private rotating = false;
  private closed = false;
  private dropped = 0;
  private reportedError = false;
  private readonly idle = new Set<() => void>();
  private rotation: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(options: LogFileOptions) {
    this.path = path.resolve(options.path);
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = options.maxFiles ?? 5;
    this.flushTimeout = options.flushTimeout ?? 5_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    mkdirSync(path.dirname(this.path), { recursive: true });
    // Appending to a file from an earlier run: it counts towards the size limit.
    this.bytes = sizeOf(this.path);
    this.fd = openSync(this.path, 'a');
    this.timer = setInterval(() => this.pump(), options.flushInterval ?? 100);
    this.timer.unref();
  }

  write(chunk: string): void {
    // A line logged after the app stopped must not crash its caller.
    if (this.closed) return;
    if (this.buffered >= this.maxBufferedBytes) {
      this.dropped++;
      return;
    }
    this.parts.push(chunk);
    this.buffered += chunk.length;
    this.bytes += chunk.length;
    if (this.bytes >= this.maxBytes && !this.rotating) void this.rotate();
    else if (this.buffered >= BATCH_BYTES) this.pump();
  }

  /** Calls back once every line written so far is on disk (or after `flushTimeout`). */
  flush(callback?: (error?: Error) => void): void {
    const done = () => callback?.();
    // A rotation under way is still writing lines and renaming files: it counts as pending.
    if (!this.writing && this.buffered === 0 && !this.rotating) return done();
    const timer = setTimeout(() => {
      this.idle.delete(finish);
      done();
    }, this.flushTimeout);
    const finish = () => {
      clearTimeout(timer);
      done();
    };
    this.idle.add(finish);
    this.pump();
  }

  end(): void {
    void this.close();
  }

  /** Writes what is pending and closes the file; resolves once the descriptor is released. */
  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.flush(() => resolve()));
    // Not while a rotation renames files: the caller would find them half moved.
    while (this.rotation) await this.rotation;
    this.closed = true;
    clearInterval(this.timer);
    await this.waitForWrite();
    await this.closeDescriptor();
  }

  private async closeDescriptor(): Promise<void> {
    const handle = this.handle;
    if (handle) await handle.close().catch(() => undefined);
    else await new Promise<void>((resolve) => close(this.fd, () => resolve()));
  }

  /** Starts a write of everything buffered, unless one is in flight (it will come back here). */
  private pump(): void {
    if (this.writing || this.rotating || this.closed) return;
    if (this.buffered === 0) return this.settle();
    const data = this.parts.length === 1 ? this.parts[0] : this.parts.join('');
    this.parts = [];
    this.buffered = 0;
    this.writing = true;
    write(this.fd, data, null, 'utf8', (error) => {
      this.writing = false;
      if (error) this.report(error);
      this.pump();
    });
  }

  private settle(): void {
    if (this.writing || this.buffered > 0 || this.rotating) return;
    if (this.dropped > 0) {
      this.report(new Error(`${this.dropped} log lines dropped: the disk did not keep up`));
      this.dropped = 0;
    }
    const callbacks = [...this.idle];
    this.idle.clear();
    for (const callback of callbacks) callback();
  }

  private waitForWrite(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (this.writing) return;
        clearInterval(check);
        resolve();
      }, 5);
    });
  }

  private report(error: Error): void {
    if (this.reportedError) return;
    this.reportedError = true;
    process.stderr.write(`log file ${this.path}: ${error.message}\n`);
  }

  private rotate(): Promise<void> {
    this.rotation = this.rotateFiles().finally(() => {
      this.rotation = undefined;
      // Lines logged during a long rotation may already fill the new file.
      if (this.bytes >= this.maxBytes && !this.closed) void this.rotate();
      else this.pump();
    });
    return this.rotation;
  }

  private async rotateFiles(): Promise<void> {
    this.rotating = true;
    // Everything logged before the rotation began belongs to the file being rotated; lines
    // logged while it runs wait in memory for the new file.
    const pending = this.parts.join('');
    this.parts = [];
    this.buffered = 0;
    try {
      await this.waitForWrite();
      if (pending) {
        await new Promise<void>((resolve) =>
          write(this.fd, pending, null, 'utf8', (error) => {
            if (error) this.report(error);
            resolve();
          }),
        );
      }
      // Only the rotated files that exist are moved, oldest first, so a rotation takes a few
      // renames rather than maxFiles of them.
      const base = path.basename(this.path);
      const existing = (await readdir(path.dirname(this.path)))
        .map((name) => (name.startsWith(`${base}.`) ? name.slice(base.length + 1) : ''))
        .filter((suffix) => /^\d+$/.test(suffix))
        .map(Number)
        .sort((a, b) => b - a);
      for (const index of existing) {
        if (index >= this.maxFiles) await unlink(`${this.path}.${index}`).catch(() => undefined);
        else await rename(`${this.path}.${index}`, `${this.path}.${index + 1}`).catch(() => undefined);
      }
      await rename(this.path, `${this.path}.1`);
      if (!this.closed) {
        const next = await open(this.path, 'a');
        await this.closeDescriptor();
        this.handle = next;
        this.fd = next.fd;
      }
      this.bytes = this.buffered;
    } catch (error) {
      // The file vanished under us (deleted by hand): keep writing where the descriptor points,
      // and count afresh so a failing rotation is not retried on every line.
      this.report(error as Error);
      this.bytes = this.buffered;
    } finally {
      this.rotating = false;
    }
  }
}
