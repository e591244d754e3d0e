import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { parseLine, type ParsedLine } from './filter.js';
import { closeLogFiles, openLogFiles } from './log-files.js';

export interface TailOptions {
  /** Milliseconds between size checks; fs.watch only makes new lines arrive sooner. */
  pollInterval: number;
  chunkSize: number;
  maxLineLength: number;
}

export type TailListener = (line: ParsedLine) => void;

const NEWLINE = 0x0a;

interface FollowedFile {
  handle: FileHandle;
  dev: string;
  ino: string;
}

/**
 * Follows the active log file and hands every new complete line, parsed once, to its
 * listeners. One follower serves every stream of the app: a session (watcher, timer, file
 * handle) opens with the first listener and is released when the last one leaves.
 */
export class LogTail {
  private readonly listeners = new Set<TailListener>();
  private session: TailSession | undefined;
  private opening: Promise<void> | undefined;
  private sessions = 0;

  constructor(
    private readonly filePath: string,
    private readonly options: TailOptions,
    private readonly logger: Logger,
  ) {}

  /** Adds a listener; resolves once the follower is positioned at the current end of the file. */
  async subscribe(listener: TailListener): Promise<() => void> {
    this.listeners.add(listener);
    if (!this.session) {
      const session = new TailSession(this.filePath, this.options, this.logger, (line) => {
        for (const each of this.listeners) each(line);
      });
      this.session = session;
      this.sessions++;
      this.opening = session.open();
    }
    let subscribed = true;
    const unsubscribe = () => {
      if (!subscribed) return;
      subscribed = false;
      this.listeners.delete(listener);
      void this.release();
    };
    try {
      await this.opening;
    } catch (error) {
      // Released before the caller answers, so a failed subscribe leaves no session behind.
      subscribed = false;
      this.listeners.delete(listener);
      await this.release();
      throw error;
    }
    return unsubscribe;
  }

  /** Listeners and open sessions (watcher + timer + handle); both drop to 0 when nobody listens. */
  stats(): { listeners: number; sessions: number } {
    return { listeners: this.listeners.size, sessions: this.sessions };
  }

  /** Releases everything, whoever still listens (app shutdown). */
  async close(): Promise<void> {
    this.listeners.clear();
    await this.release();
  }

  private async release(): Promise<void> {
    const session = this.session;
    if (this.listeners.size > 0 || !session) return;
    this.session = undefined;
    this.opening = undefined;
    await session.close();
    this.sessions--;
  }
}

/**
 * One follow of the file. Only appended bytes are read, from the last offset; a file that
 * shrank or was replaced (rotation) is read from 0, after the rest of the old one.
 */
class TailSession {
  private file: FollowedFile | undefined;
  private offset = 0;
  private carry: Buffer = Buffer.alloc(0);
  /** True while bytes up to the next newline belong to a line that is dropped (partial or too long). */
  private discarding = false;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private opening: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly filePath: string,
    private readonly options: TailOptions,
    private readonly logger: Logger,
    private readonly deliverLine: TailListener,
  ) {}

  open(): Promise<void> {
    this.opening = this.position();
    return this.opening;
  }

  private async position(): Promise<void> {
    this.file = await this.openCurrent();
    if (this.file) {
      this.offset = Number((await this.file.handle.stat()).size);
      // Starting after a partly written line, the bytes up to the next newline are its end.
      this.discarding = this.offset > 0 && !(await this.endsWithNewline(this.file, this.offset));
    }
    if (this.closed) return;
    this.timer = setInterval(() => this.check(), this.options.pollInterval);
    try {
      this.watcher = watch(path.dirname(this.filePath), (_event, name) => {
        if (!name || name === path.basename(this.filePath)) this.check();
      });
      this.watcher.on('error', () => this.closeWatcher());
    } catch (error) {
      // Polling alone still delivers lines, only a little later.
      this.logger.debug({ err: error }, 'fs.watch unavailable; polling the log file');
    }
  }

  private async endsWithNewline(file: FollowedFile, offset: number): Promise<boolean> {
    const last = Buffer.alloc(1);
    const { bytesRead } = await file.handle.read(last, 0, 1, offset - 1);
    return bytesRead === 1 && last[0] === NEWLINE;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closeWatcher();
    await this.running;
    const file = this.file;
    this.file = undefined;
    await file?.handle.close().catch(() => undefined);
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Runs one read at a time; a check during a read schedules one more afterwards. */
  private check(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.readAppended().catch((error: unknown) =>
          this.logger.warn({ err: error }, 'reading the log file failed'),
        );
      } while (this.again && !this.closed);
    })().finally(() => (this.running = undefined));
  }

  private async openCurrent(): Promise<FollowedFile | undefined> {
    try {
      const handle = await open(this.filePath, 'r');
      const info = await handle.stat({ bigint: true });
      return { handle, dev: String(info.dev), ino: String(info.ino) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private restartAt(offset: number): void {
    this.offset = offset;
    this.carry = Buffer.alloc(0);
    this.discarding = false;
  }

  private async readAppended(): Promise<void> {
    if (this.closed) return;
    // Missing between the writer's rename and its reopen; the open handle still holds every line.
    const info = await stat(this.filePath, { bigint: true }).catch(() => undefined);
    if (!info) return;
    let size: number;
    if (this.file && String(info.ino) === this.file.ino && String(info.dev) === this.file.dev) {
      size = Number(info.size);
    } else {
      if (this.file) await this.followRotation(this.file);
      else {
        this.file = await this.openCurrent();
        this.restartAt(0);
      }
      if (!this.file) return;
      size = Number((await this.file.handle.stat()).size);
    }
    if (size < this.offset) this.restartAt(0);
    await this.readFrom(this.file, size);
  }

  /**
   * The followed file was renamed away. Finish it, then read the files rotated after it (several
   * rotations can happen between two checks), oldest first, then follow the new active file.
   */
  private async followRotation(old: FollowedFile): Promise<void> {
    await this.readFrom(old, Number((await old.handle.stat()).size));
    const files = await openLogFiles(this.filePath);
    const oldIndex = files.findIndex((file) => file.ino === old.ino && file.dev === old.dev);
    if (oldIndex === 0) {
      // It is the active file again (the name was missing only for a moment): keep following it.
      await closeLogFiles(files);
      return;
    }
    if (oldIndex === -1)
      this.logger.warn(
        { file: this.filePath },
        'log lines rotated away before the stream read them',
      );
    await old.handle.close().catch(() => undefined);
    this.file = undefined;
    const newer = oldIndex > 1 ? files.slice(1, oldIndex).reverse() : [];
    for (const file of newer) {
      this.restartAt(0);
      await this.readFrom(file, file.size);
    }
    const active = files[0]?.path === this.filePath ? files[0] : undefined;
    await closeLogFiles(files.filter((file) => file !== active));
    this.file = active;
    this.restartAt(0);
  }

  private async readFrom(file: FollowedFile, size: number): Promise<void> {
    while (this.offset < size && !this.closed) {
      const length = Math.min(this.options.chunkSize, size - this.offset);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await file.handle.read(buffer, 0, length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      this.split(buffer.subarray(0, bytesRead));
    }
  }

  private split(chunk: Buffer): void {
    let from = 0;
    for (
      let newline = chunk.indexOf(NEWLINE);
      newline !== -1;
      newline = chunk.indexOf(NEWLINE, from)
    ) {
      const piece = chunk.subarray(from, newline);
      const line = this.carry.length > 0 ? Buffer.concat([this.carry, piece]) : piece;
      this.carry = Buffer.alloc(0);
      from = newline + 1;
      if (this.discarding) this.discarding = false;
      else if (line.length > 0 && line.length <= this.options.maxLineLength)
        this.deliver(line.toString('utf8'));
    }
    const rest = chunk.subarray(from);
    if (this.discarding || this.carry.length + rest.length > this.options.maxLineLength) {
      this.discarding = true;
      this.carry = Buffer.alloc(0);
    } else if (rest.length > 0) {
      this.carry = Buffer.concat([this.carry, rest]);
    }
  }

  private deliver(raw: string): void {
    const parsed = parseLine(raw);
    if (parsed) this.deliverLine(parsed);
  }
}
