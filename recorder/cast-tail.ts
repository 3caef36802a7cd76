// Follows a cast file another process is writing (a live session on another gateway node, read from
// the shared recordings directory): each read() returns the complete lines appended since the last
// one. A last line without its newline is still being written (or was torn by a crash): it is held
// back until it is whole, never parsed half. Bounded: at most `maxRead` bytes per call, and a line
// longer than the reader's limit is an error. A missing file is "nothing yet"; a file that shrank
// (the writer cut back a failed write) is followed from its new end. The caller decides how often
// to read (the live view polls); this module owns no timer.
import { open } from 'node:fs/promises';
import { type CastEvent, type CastHeader, CastFormatError, parseEvent, parseHeader } from './asciicast-reader.js';

const MAX_LINE = 4 * 1024 * 1024;

export interface TailRead {
  /** The header, in the read that reached it (once). */
  header?: CastHeader;
  events: CastEvent[];
  /** Lines that were whole but not events (damaged): skipped. */
  skipped: number;
  /** More bytes were waiting than this read took. */
  more: boolean;
}

export class CastTail {
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);
  private headerSeen = false;

  constructor(readonly path: string, private readonly maxRead = 256 * 1024) {}

  async read(): Promise<TailRead> {
    const out: TailRead = { events: [], skipped: 0, more: false };
    let h;
    try {
      h = await open(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw e;
    }
    try {
      const size = (await h.stat()).size;
      if (size < this.offset) {
        this.offset = size;
        this.partial = Buffer.alloc(0);
      }
      const want = Math.min(size - this.offset, this.maxRead);
      if (want <= 0) return out;
      const buf = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await h.read(buf, got, want - got, this.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      this.offset += got;
      out.more = this.offset < size;
      this.take(Buffer.concat([this.partial, buf.subarray(0, got)]), out);
      return out;
    } finally {
      await h.close();
    }
  }

  private take(data: Buffer, out: TailRead): void {
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      const line = data.toString('utf8', from, nl);
      from = nl + 1;
      if (line.length === 0) continue;
      if (!this.headerSeen) {
        out.header = parseHeader(line);
        this.headerSeen = true;
        continue;
      }
      const e = parseEvent(line);
      if (e) out.events.push(e);
      else out.skipped++;
    }
    this.partial = Buffer.from(data.subarray(from));
    if (this.partial.length > MAX_LINE) throw new CastFormatError('recording line over the size limit');
  }
}
