// An append-only file sink for recordings: lines are buffered and written within half a second
// or as soon as 256 KiB are pending. Writes are serial. Half a second, not one: a line waits for
// the timer armed by the first pending line plus the write itself, and measured at a 1 s timer the
// oldest unwritten line was 1,004 ms old (test/unit/recorder-flush-latency.test.ts); the promise
// is that a node's death (or a viewer on another node tailing the file) loses at most the last
// second. Written means handed to the kernel, which keeps it when the process dies: no fsync per
// write (the file is synced once, at close).
// Bounded: if the disk cannot keep up and more than `maxPendingBytes` wait, the sink fails and
// reports it once, so the session can end (fail closed) instead of growing memory without bound.
// A write that fails (a full disk: ENOSPC, EDQUOT) is cut back to the last chunk written whole,
// so the file never ends in a torn line and nothing written before is touched; the sink then fails.
// Each write may first be charged to a meter (the session's byte budget): a refused charge drops
// the write, and what that means is the meter owner's decision, not the sink's.
import { mkdirSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Decides whether a write of `bytes` may still be recorded (the session's byte budget). */
export interface ByteMeter {
  take(bytes: number): boolean;
}

/** The part of a FileHandle the sink uses (tests give it a disk that fills up). */
export interface SinkFile {
  write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>;
  truncate(len: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface SinkOptions {
  flushMs?: number;
  maxPendingBytes?: number;
  meter?: ByteMeter;
  /** Opens the file for appending; default: the real file, mode 0600. */
  openFile?: (path: string) => Promise<SinkFile>;
  onError(err: Error): void;
}

const openAppend = (path: string): Promise<SinkFile> => open(path, 'a', 0o600);

const FLUSH_AT = 256 * 1024;
/** The longest a written line waits in memory before it goes to the file. */
export const FLUSH_MS = 500;

export class FileSink {
  /** Lines as given: text is turned into bytes once per flush, not once per line. */
  private pending: Array<string | Buffer> = [];
  private pendingBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  /** Opened with the first write that reaches the disk: a sink nothing was written to leaves no empty file. */
  private handle: Promise<SinkFile> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failed = false;
  private closed = false;
  private readonly flushMs: number;
  private readonly maxPending: number;
  /** Bytes accepted so far (the file's size once flushed), so a reader knows where "now" is. */
  written = 0;
  /** Bytes on disk that were written whole (the file is cut back here if a write fails). */
  private durable = 0;

  constructor(readonly path: string, private readonly opts: SinkOptions) {
    this.flushMs = opts.flushMs ?? FLUSH_MS;
    this.maxPending = opts.maxPendingBytes ?? 32 * 1024 * 1024;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }

  private file(): Promise<SinkFile> {
    // A file that exists already (never for a new session) keeps what it holds, whatever happens.
    this.handle ??= (this.opts.openFile ?? openAppend)(this.path).then(async (h) => { this.durable = (await h.stat()).size; return h; });
    return this.handle;
  }

  get ok(): boolean {
    return !this.failed;
  }

  /**
   * Appends text (recording lines) or raw bytes (captured output). `metered: false` is for the few
   * bounded lines that say why a recording stopped: they are written even past the budget.
   */
  write(data: string | Buffer, metered = true): void {
    if (this.failed || this.closed) return;
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (metered && this.opts.meter && !this.opts.meter.take(bytes)) return;
    this.pending.push(data);
    this.pendingBytes += bytes;
    this.written += bytes;
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
    const chunk = joined(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.writing = this.writing.then(async () => {
      if (this.failed) return;
      let h: SinkFile | null = null;
      try {
        h = await this.file();
        // FileHandle.write may write less than asked (a full disk writes what fits, then fails).
        for (let off = 0; off < chunk.length;) off += (await h.write(chunk, off, chunk.length - off)).bytesWritten;
        this.durable += chunk.length;
      } catch (e) {
        // Cut the part of this chunk that made it back off: a torn last line would be the only
        // unreadable line in the file. Shrinking a file needs no free space. A file that holds
        // nothing whole is removed: never an empty file.
        if (h) {
          await h.truncate(this.durable).catch(() => {});
          if (this.durable === 0) {
            this.handle = null;
            await h.close().catch(() => {});
            await rm(this.path, { force: true }).catch(() => {});
          }
        }
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
    if (!this.handle) return;
    try {
      const h = await this.handle;
      await h.sync().catch((e: unknown) => this.fail(e));
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

/** The pending lines as one buffer: each run of text joined and encoded at once. */
function joined(parts: ReadonlyArray<string | Buffer>): Buffer {
  const out: Buffer[] = [];
  let text: string[] = [];
  for (const p of parts) {
    if (typeof p === 'string') { text.push(p); continue; }
    if (text.length > 0) { out.push(Buffer.from(text.join(''))); text = []; }
    out.push(p);
  }
  if (text.length > 0) out.push(Buffer.from(text.join('')));
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}
