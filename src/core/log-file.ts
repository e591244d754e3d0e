import { close, mkdirSync, openSync, statSync, write, writeSync, writev } from 'node:fs';
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DestinationStream } from 'pino';

/** How a batched destination holds and writes its lines. */
export interface BatchOptions {
  /** Milliseconds `flush` waits for pending writes before giving up. Default 5 000. */
  flushTimeout?: number;
  /** Buffered lines are written at least this often, in ms. Default 100. */
  flushInterval?: number;
  /** Lines held in memory while the destination is slow, in bytes, before new ones are dropped. Default 64 MiB. */
  maxBufferedBytes?: number;
}

/** Where a file destination writes, and when it rotates. */
export interface LogFileOptions extends BatchOptions {
  /** Path of the active NDJSON file; rotated files are `<path>.1`, `<path>.2`, ... (1 is newest). */
  path: string;
  /** Rotate once the active file grows past this many bytes. Default 10 MiB. */
  maxBytes?: number;
  /** How many rotated files to keep. Default 5. */
  maxFiles?: number;
}

/** A batch is written once it reaches this size (or on the flush timer). */
const BATCH_BYTES = 16 * 1024;
/** Lines are encoded into buffers of this size (a longer line gets one of its own). */
const CHUNK_BYTES = 64 * 1024;

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Lines encoded into shared buffers as they are logged and taken a batch at a time: a batch is
 * written as it is, with no joining of strings and no second encoding.
 */
class LineBatch {
  private chunks: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  /** Bytes added and not yet taken. */
  bytes = 0;

  add(line: string): number {
    // A UTF-16 unit never takes more than 3 bytes in UTF-8.
    if (!this.current || line.length * 3 > this.current.length - this.used) {
      if (this.current && this.used > 0) this.chunks.push(this.current.subarray(0, this.used));
      this.current = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, line.length * 3));
      this.used = 0;
    }
    const written = this.current.write(line, this.used);
    this.used += written;
    this.bytes += written;
    return written;
  }

  take(): Buffer[] {
    const taken = this.chunks;
    if (this.current && this.used > 0) {
      taken.push(this.current.subarray(0, this.used));
      // The rest of the buffer is untouched memory the next lines go into.
      this.current = this.current.subarray(this.used);
      this.used = 0;
    }
    this.chunks = [];
    this.bytes = 0;
    return taken;
  }
}

/** What is left of `buffers` once `count` bytes of them are written. */
function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (count >= buffer.length) count -= buffer.length;
    else {
      rest.push(count > 0 ? buffer.subarray(count) : buffer);
      count = 0;
    }
  }
  return rest;
}

/**
 * Writes every byte: after a partial write it goes on with the rest, and while a non-blocking
 * descriptor (a full pipe) answers EAGAIN it tries again shortly.
 */
function writeFully(
  fd: number,
  buffers: Buffer[],
  done: (error: NodeJS.ErrnoException | null) => void,
): void {
  const next = (error: NodeJS.ErrnoException | null, written: number) => {
    if (error?.code === 'EAGAIN') {
      setTimeout(() => writeFully(fd, buffers, done), 10).unref();
      return;
    }
    if (error) return done(error);
    const rest = skipBytes(buffers, written);
    if (rest.length === 0) done(null);
    else writeFully(fd, rest, done);
  };
  if (buffers.length === 1) write(fd, buffers[0], 0, buffers[0].length, null, next);
  else writev(fd, buffers, null, next);
}

/**
 * A log destination that batches lines in memory and writes them with one asynchronous write at
 * a time, once a batch fills or at least every `flushInterval` ms: a fraction of the CPU a write
 * per line costs, and the event loop never waits on the disk or a slow reader of a pipe. Used for
 * stdout (`new BatchedLineStream(1, 'stdout')`) and, with rotation, for log files.
 */
export class BatchedLineStream implements DestinationStream {
  protected fd: number;
  private readonly batch = new LineBatch();
  private readonly flushTimeout: number;
  private readonly maxBufferedBytes: number;
  private writing = false;
  protected closed = false;
  /** Set while a subclass moves files around: lines wait in memory meanwhile. */
  protected held = false;
  private dropped = 0;
  private reportedError = false;
  private readonly idle = new Set<() => void>();
  /** Called when the write in flight completes (close waits on it). */
  private readonly written = new Set<() => void>();
  private readonly flushInterval: number;
  /** Armed when a line arrives in an empty batch; none while nothing waits, so no polling. */
  private timer: NodeJS.Timeout | undefined;
  /** Lines still in memory are written synchronously at exit, as pino's destinations do. */
  private readonly onExit = () => this.flushSync();

  constructor(
    fd: number,
    private readonly label: string,
    options: BatchOptions = {},
  ) {
    this.fd = fd;
    this.flushTimeout = options.flushTimeout ?? 5_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.flushInterval = options.flushInterval ?? 100;
    // One listener per open stream: a process with many apps raises the warning threshold with it.
    process.setMaxListeners(process.getMaxListeners() + 1);
    process.on('exit', this.onExit);
  }

  write(chunk: string): void {
    // A line logged after the app stopped must not crash its caller.
    if (this.closed) return;
    if (this.batch.bytes >= this.maxBufferedBytes) {
      this.dropped++;
      return;
    }
    this.added(this.batch.add(chunk));
    if (this.batch.bytes >= BATCH_BYTES) this.pump();
    else this.timer ??= setTimeout(this.onTimer, this.flushInterval).unref();
  }

  private readonly onTimer = () => {
    this.timer = undefined;
    // Held by a rotation: try again after it; the write in flight re-arms the timer itself.
    if (this.held && !this.closed)
      this.timer = setTimeout(this.onTimer, this.flushInterval).unref();
    else this.pump();
  };

  /** Called with the size of each line logged (the file counts towards rotation). */
  protected added(_bytes: number): void {}

  /** Calls back once every line written so far is written (or after `flushTimeout`). */
  flush(callback?: (error?: Error) => void): void {
    const done = () => callback?.();
    // A rotation under way is still writing lines and renaming files: it counts as pending.
    if (!this.writing && this.batch.bytes === 0 && !this.held) return done();
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

  /** Writes what is left in memory synchronously: for the process's last moments. */
  flushSync(): void {
    if (this.closed || this.held || this.batch.bytes === 0) return;
    for (const buffer of this.batch.take()) {
      try {
        for (let offset = 0, attempts = 0; offset < buffer.length && attempts < 100; attempts++) {
          try {
            offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
          }
        }
      } catch {
        return; // Nowhere left to report it.
      }
    }
  }

  end(): void {
    void this.close();
  }

  /** Writes what is pending and stops; resolves once the descriptor is released. */
  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.flush(() => resolve()));
    await this.settled();
    this.closed = true;
    process.off('exit', this.onExit);
    process.setMaxListeners(Math.max(0, process.getMaxListeners() - 1));
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.waitForWrite();
    // Lines logged while the last write was in flight.
    await this.writeNow(this.batch.take());
    await this.release();
  }

  /** Waits for work of a subclass's own (a rotation) before closing. */
  protected async settled(): Promise<void> {}

  /** Releases the descriptor; stdout's stays open. */
  protected async release(): Promise<void> {}

  /** Starts a write of everything buffered, unless one is in flight (it will come back here). */
  protected pump(): void {
    if (this.writing || this.held || this.closed) return;
    if (this.batch.bytes === 0) return this.settle();
    const buffers = this.batch.take();
    this.writing = true;
    writeFully(this.fd, buffers, (error) => {
      this.writing = false;
      if (error) this.report(error);
      if (this.written.size > 0) {
        const waiting = [...this.written];
        this.written.clear();
        for (const resume of waiting) resume();
      }
      // Lines that came in meanwhile wait for a full batch, the timer or a flush: writing them at
      // once would make one small write per write completed, each a trip through the thread pool.
      if (this.batch.bytes >= BATCH_BYTES || this.idle.size > 0 || this.batch.bytes === 0)
        this.pump();
      else this.timer ??= setTimeout(this.onTimer, this.flushInterval).unref();
    });
  }

  /** Takes everything logged so far, to be written by the caller (a rotation, to the old file). */
  protected takePending(): Buffer[] {
    return this.batch.take();
  }

  protected get pendingBytes(): number {
    return this.batch.bytes;
  }

  protected writeNow(buffers: Buffer[]): Promise<void> {
    if (buffers.length === 0) return Promise.resolve();
    return new Promise((resolve) =>
      writeFully(this.fd, buffers, (error) => {
        if (error) this.report(error);
        resolve();
      }),
    );
  }

  private settle(): void {
    if (this.writing || this.batch.bytes > 0 || this.held) return;
    if (this.dropped > 0) {
      this.report(new Error(`${this.dropped} log lines dropped: writing did not keep up`));
      this.dropped = 0;
    }
    const callbacks = [...this.idle];
    this.idle.clear();
    for (const callback of callbacks) callback();
  }

  protected waitForWrite(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.written.add(resolve));
  }

  protected report(error: Error): void {
    if (this.reportedError) return;
    this.reportedError = true;
    process.stderr.write(`log ${this.label}: ${error.message}\n`);
  }
}

/**
 * An NDJSON file that rotates by size, batched as `BatchedLineStream` describes. Rotation waits
 * for the write in flight, renames with async calls and reopens; lines logged meanwhile wait in
 * memory, never lost.
 */
export class RotatingFileStream extends BatchedLineStream {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  /** After a rotation the descriptor comes from an async open; the handle keeps it alive. */
  private handle: FileHandle | undefined;
  /** Bytes in the active file, counting those still buffered. */
  private bytes: number;
  private rotation: Promise<void> | undefined;

  constructor(options: LogFileOptions) {
    const file = path.resolve(options.path);
    mkdirSync(path.dirname(file), { recursive: true });
    super(openSync(file, 'a'), file, options);
    this.path = file;
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = options.maxFiles ?? 5;
    // Appending to a file from an earlier run: it counts towards the size limit.
    this.bytes = sizeOf(this.path);
  }

  protected override added(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes >= this.maxBytes && !this.held) void this.rotate();
  }

  protected override async settled(): Promise<void> {
    // Not while a rotation renames files: the caller would find them half moved.
    while (this.rotation) await this.rotation;
  }

  protected override async release(): Promise<void> {
    const handle = this.handle;
    if (handle) await handle.close().catch(() => undefined);
    else await new Promise<void>((resolve) => close(this.fd, () => resolve()));
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
    this.held = true;
    // Everything logged before the rotation began belongs to the file being rotated; lines
    // logged while it runs wait in memory for the new file.
    const pending = this.takePending();
    try {
      await this.waitForWrite();
      await this.writeNow(pending);
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
        else
          await rename(`${this.path}.${index}`, `${this.path}.${index + 1}`).catch(() => undefined);
      }
      await rename(this.path, `${this.path}.1`);
      if (!this.closed) {
        const next = await open(this.path, 'a');
        await this.release();
        this.handle = next;
        this.fd = next.fd;
      }
      this.bytes = this.pendingBytes;
    } catch (error) {
      // The file vanished under us (deleted by hand): keep writing where the descriptor points,
      // and count afresh so a failing rotation is not retried on every line.
      this.report(error as Error);
      this.bytes = this.pendingBytes;
    } finally {
      this.held = false;
    }
  }
}
