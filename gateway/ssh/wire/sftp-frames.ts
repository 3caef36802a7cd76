// SFTP (v3) packet framing, sans-I/O: bytes in, packets out. Packets are `uint32 length, byte type,
// payload`. Only the first HEAD_MAX bytes of a packet are kept (enough for every header field we
// read); bulk data (WRITE and DATA payloads) is counted and skipped, never copied. A length over
// the limit is a protocol error: the caller ends that one session.

export class SftpProtocolError extends Error {}

/** OpenSSH caps SFTP messages at 256 KiB; allow headroom for other servers. */
export const DEFAULT_MAX_PACKET = 1024 * 1024;
const HEAD_MAX = 16 * 1024;

export interface SftpPacket {
  type: number;
  /** The packet from its type byte on, truncated to HEAD_MAX bytes. */
  head: Buffer;
  /** Length of the whole packet after the length field. */
  length: number;
}

export class SftpFrameReader {
  private lenBuf = Buffer.alloc(4);
  private lenHave = 0;
  private length = -1;
  private head: Buffer[] = [];
  private headHave = 0;
  private skipLeft = 0;

  constructor(private readonly onPacket: (p: SftpPacket) => void, private readonly maxPacket = DEFAULT_MAX_PACKET) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.length < 0) {
        const take = Math.min(4 - this.lenHave, chunk.length - off);
        chunk.copy(this.lenBuf, this.lenHave, off, off + take);
        this.lenHave += take;
        off += take;
        if (this.lenHave < 4) return;
        this.length = this.lenBuf.readUInt32BE(0);
        if (this.length < 1 || this.length > this.maxPacket) {
          throw new SftpProtocolError(`SFTP packet length ${this.length} outside 1..${this.maxPacket}`);
        }
        this.headHave = 0;
        this.head = [];
        this.skipLeft = Math.max(0, this.length - HEAD_MAX);
        continue;
      }
      const headWant = Math.min(this.length, HEAD_MAX) - this.headHave;
      if (headWant > 0) {
        const take = Math.min(headWant, chunk.length - off);
        this.head.push(chunk.subarray(off, off + take));
        this.headHave += take;
        off += take;
        if (this.headHave < Math.min(this.length, HEAD_MAX)) return;
      }
      if (this.skipLeft > 0) {
        const take = Math.min(this.skipLeft, chunk.length - off);
        this.skipLeft -= take;
        off += take;
        if (this.skipLeft > 0) return;
      }
      const head = this.head.length === 1 ? Buffer.from(this.head[0]!) : Buffer.concat(this.head);
      const length = this.length;
      this.length = -1;
      this.lenHave = 0;
      this.head = [];
      this.onPacket({ type: head[0]!, head, length });
    }
  }
}

/** Reads SFTP wire fields from a packet head; every read is bounds-checked. */
export class FieldReader {
  private off: number;
  constructor(private readonly buf: Buffer, start = 1) {
    this.off = start;
  }

  u32(): number {
    if (this.off + 4 > this.buf.length) throw new SftpProtocolError('SFTP packet too short');
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    return hi * 2 ** 32 + lo;
  }

  /** A string's length, without reading it (its bytes may lie beyond the kept head). */
  stringLength(): number {
    return this.u32();
  }

  string(): Buffer {
    const n = this.u32();
    if (this.off + n > this.buf.length) throw new SftpProtocolError('SFTP string runs past the packet head');
    const s = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return s;
  }

  text(): string {
    return this.string().toString('utf8');
  }
}
