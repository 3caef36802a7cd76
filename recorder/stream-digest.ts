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
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly edge = EDGE) {}

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (this.headLen < this.edge) {
      const take = chunk.subarray(0, this.edge - this.headLen);
      this.head.push(Buffer.from(take));
      this.headLen += take.length;
    }
    // Keep the last `edge` bytes; concat only what is needed so large streams stay cheap.
    if (chunk.length >= this.edge) this.tail = Buffer.from(chunk.subarray(chunk.length - this.edge));
    else this.tail = Buffer.concat([this.tail.subarray(Math.max(0, this.tail.length + chunk.length - this.edge)), chunk]);
  }

  summary(): StreamSummary {
    const head = Buffer.concat(this.head);
    const truncated = this.bytes > this.edge * 2;
    return {
      bytes: this.bytes, sha256: this.hash.copy().digest('hex'), head: head.toString('utf8'),
      // When head and tail overlap, the tail adds only what the head does not hold.
      tail: truncated ? this.tail.toString('utf8') : this.bytes > this.edge ? this.tail.subarray(this.edge * 2 - this.bytes).toString('utf8') : '',
      truncated,
    };
  }
}
