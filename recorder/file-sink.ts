// An append-only file sink for recordings: lines are buffered and written at least every second
// (a crash loses at most the last second) or as soon as 256 KiB are pending. Writes are serial.
// Bounded: if the disk cannot keep up and more than `maxPendingBytes` wait, the sink fails and
// reports it once, so the session can end (fail closed) instead of growing memory without bound.
import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface SinkOptions {
  flushMs?: number;
  maxPendingBytes?: number;
  onError(err: Error): void;
}

const FLUSH_AT = 256 * 1024;

export class FileSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private handle: Promise<FileHandle>;
  private timer: NodeJS.Timeout | null = null;
  private failed = false;
  private closed = false;
  private readonly flushMs: number;
  private readonly maxPending: number;
  /** Bytes accepted so far (the file's size once flushed), so a reader knows where "now" is. */
  written = 0;

  constructor(readonly path: string, private readonly opts: SinkOptions) {
    this.flushMs = opts.flushMs ?? 1000;
    this.maxPending = opts.maxPendingBytes ?? 32 * 1024 * 1024;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.handle = open(path, 'a', 0o600);
    this.handle.catch((e: unknown) => this.fail(e));
  }

  get ok(): boolean {
    return !this.failed;
  }

  /** Appends text (recording lines) or raw bytes (captured output). */
  write(data: string | Buffer): void {
    if (this.failed || this.closed) return;
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.pending.push(b);
    this.pendingBytes += b.length;
    this.written += b.length;
    if (this.pendingBytes > this.maxPending) {
      this.fail(new Error(`recording ${this.path} fell more than ${this.maxPending} bytes behind`));
      return;
    }
    if (this.pendingBytes >= FLUSH_AT) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = null; void this.flush(); }, this.flushMs);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.pending.length === 0 || this.failed) return this.writing;
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.writing = this.writing.then(async () => {
      if (this.failed) return;
      try {
        const h = await this.handle;
        await h.write(chunk);
      } catch (e) {
        this.fail(e);
      }
    });
    return this.writing;
  }

  async close(): Promise<void> {
    if (this.closed) return this.writing;
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
    this.closed = true;
    try {
      const h = await this.handle;
      await h.sync();
      await h.close();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.pending = [];
    this.opts.onError(e instanceof Error ? e : new Error(String(e)));
  }
}
