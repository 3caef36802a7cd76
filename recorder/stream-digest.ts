// Summary of a stream without keeping it: byte count, SHA-256, and the first and last 64 KiB
// (or everything, when full capture is asked for, up to a cap).
import { createHash, type Hash } from 'node:crypto';

const EDGE = 64 * 1024;

export interface StreamSummary {
  bytes: number;
  sha256: string;
  head: string;
  tail: string;
  truncated: boolean;
}

export class StreamDigest {
  private bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private head: Buffer[] = [];
  private headLen = 0;
  // The newest chunks covering at least `edge` bytes, by reference: copying per chunk would cost
  // more than the relay itself on bulk transfers. Materialized only in summary().
  private tail: Buffer[] = [];
  private tailLen = 0;

  constructor(private readonly edge = EDGE) {}

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (this.headLen < this.edge) {
      const take = chunk.subarray(0, this.edge - this.headLen);
      this.head.push(Buffer.from(take));
      this.headLen += take.length;
    }
    this.tail.push(chunk);
    this.tailLen += chunk.length;
    while (this.tail.length > 1 && this.tailLen - this.tail[0]!.length >= this.edge) this.tailLen -= this.tail.shift()!.length;
  }

  summary(): StreamSummary {
    const head = Buffer.concat(this.head);
    const all = Buffer.concat(this.tail);
    const last = all.subarray(Math.max(0, all.length - this.edge));
    const truncated = this.bytes > this.edge * 2;
    return {
      bytes: this.bytes, sha256: this.hash.copy().digest('hex'), head: head.toString('utf8'),
      // When head and tail overlap, the tail adds only what the head does not hold.
      tail: truncated ? last.toString('utf8') : this.bytes > this.edge ? last.subarray(this.edge * 2 - this.bytes).toString('utf8') : '',
      truncated,
    };
  }
}
