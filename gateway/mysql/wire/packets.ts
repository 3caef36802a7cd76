// MySQL/MariaDB packet framing and field codecs, sans-I/O. A packet is `int<3> length, int<1>
// sequence id, payload`; payloads of 2^24-1 bytes continue in the next packet. The reader keeps only
// the first `headMax` bytes of each payload (what recording needs) and skips the rest without
// copying; lengths above the configured limit are a protocol error for that one connection.

export class MyProtocolError extends Error {}

export const MAX_PAYLOAD = 0xffffff;

export interface MyPacket {
  seq: number;
  length: number;
  head: Buffer;
}

export class MyPacketReader {
  private hdr = Buffer.alloc(4);
  private hdrHave = 0;
  private len = -1;
  private seq = 0;
  private head: Buffer[] = [];
  private headHave = 0;
  private skipLeft = 0;

  constructor(private readonly onPacket: (p: MyPacket) => void, private readonly maxPacket = 64 * 1024 * 1024, private readonly headMax = 64 * 1024) {}

  get atBoundary(): boolean {
    return this.len < 0 && this.hdrHave === 0;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.len < 0) {
        const take = Math.min(4 - this.hdrHave, chunk.length - off);
        chunk.copy(this.hdr, this.hdrHave, off, off + take);
        this.hdrHave += take;
        off += take;
        if (this.hdrHave < 4) return;
        this.len = this.hdr.readUIntLE(0, 3);
        this.seq = this.hdr[3]!;
        if (this.len > this.maxPacket) throw new MyProtocolError(`packet length ${this.len} over the limit ${this.maxPacket}`);
        this.head = [];
        this.headHave = 0;
        this.skipLeft = Math.max(0, this.len - this.headMax);
      }
      const want = Math.min(this.len, this.headMax) - this.headHave;
      if (want > 0) {
        const take = Math.min(want, chunk.length - off);
        this.head.push(chunk.subarray(off, off + take));
        this.headHave += take;
        off += take;
        if (this.headHave < Math.min(this.len, this.headMax)) return;
      }
      if (this.skipLeft > 0) {
        const take = Math.min(this.skipLeft, chunk.length - off);
        this.skipLeft -= take;
        off += take;
        if (this.skipLeft > 0) return;
      }
      const head = this.head.length === 1 ? Buffer.from(this.head[0]!) : Buffer.concat(this.head);
      const p: MyPacket = { seq: this.seq, length: this.len, head };
      this.len = -1;
      this.hdrHave = 0;
      this.head = [];
      this.onPacket(p);
    }
  }
}

/** Bytes of a reply packet's head the statement log reads, unless it is an ERR packet (OK: 1 + 9 + 9 + 2 + 2). */
export const REPLY_HEAD = 32;

/**
 * Server→client packets for the statement log, read after their bytes were forwarded: headers only,
 * no object and no copy per packet. `onHead(length, buf, start, end)` gets the packet's payload
 * length and its head as `buf[start, end)`: the chunk itself when the head lies wholly in it (valid
 * only during the call), a copy only when a head is split across chunks. The head is the first
 * REPLY_HEAD bytes (what an OK, EOF, column count or prepare reply needs), or up to `headMax` for
 * an ERR packet (0xff first: its message); rows and column definitions are skipped, never copied.
 * A payload of 16 MiB or more spans several wire packets: the first (length 0xffffff) is reported,
 * its continuations are skipped. Read as replies of their own, a crafted row's continuation could
 * pass for an OK or EOF and end the result early in the log.
 */
export class MyReplyHeads {
  private readonly hdr = Buffer.alloc(4);
  private hdrHave = 0;
  /** Payload length of the packet being read; -1 between packets. */
  private len = -1;
  /** Head bytes wanted for it (-1 until its first byte is here) and those collected so far. */
  private want = -1;
  private parts: Buffer[] = [];
  private have = 0;
  private skipLeft = 0;
  /** The packet being read continues the one before (that one was 0xffffff long): not reported. */
  private continuation = false;
  /** The next packet continues this one. */
  private continues = false;

  constructor(private readonly onHead: (length: number, buf: Buffer, start: number, end: number) => void,
    private readonly maxPacket = 64 * 1024 * 1024, private readonly headMax = 64 * 1024) {}

  get atBoundary(): boolean {
    return this.len < 0 && this.hdrHave === 0;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      if (this.len < 0) {
        if (this.hdrHave === 0 && n - off >= 4) {
          const len = chunk[off]! | (chunk[off + 1]! << 8) | (chunk[off + 2]! << 16);
          if (len > this.maxPacket) throw new MyProtocolError(`packet length ${len} over the limit ${this.maxPacket}`);
          off += 4;
          const continuation = this.continues;
          this.continues = len === MAX_PAYLOAD;
          if (n - off >= len) {
            // The common case: the whole packet is in this chunk.
            if (continuation) { off += len; continue; }
            this.onHead(len, chunk, off, off + (len === 0 ? 0 : Math.min(len, chunk[off] === 0xff ? this.headMax : REPLY_HEAD)));
            off += len;
            continue;
          }
          this.startPacket(len, continuation);
        } else {
          const take = Math.min(4 - this.hdrHave, n - off);
          chunk.copy(this.hdr, this.hdrHave, off, off + take);
          this.hdrHave += take;
          off += take;
          if (this.hdrHave < 4) return;
          this.hdrHave = 0;
          const len = this.hdr.readUIntLE(0, 3);
          if (len > this.maxPacket) throw new MyProtocolError(`packet length ${len} over the limit ${this.maxPacket}`);
          const continuation = this.continues;
          this.continues = len === MAX_PAYLOAD;
          this.startPacket(len, continuation);
          if (len === 0) { this.endPacket(); continue; }
        }
      }
      if (off === n) return;
      if (this.want < 0) this.want = Math.min(this.len, chunk[off] === 0xff ? this.headMax : REPLY_HEAD);
      if (this.have < this.want) {
        const take = Math.min(this.want - this.have, n - off);
        // Copied: the chunk is the caller's (forwarded already, and a reused read buffer would be overwritten).
        this.parts.push(Buffer.from(chunk.subarray(off, off + take)));
        this.have += take;
        off += take;
        if (this.have < this.want) return;
        this.skipLeft = this.len - this.want;
      }
      if (this.skipLeft > 0) {
        const take = Math.min(this.skipLeft, n - off);
        this.skipLeft -= take;
        off += take;
        if (this.skipLeft > 0) return;
      }
      this.endPacket();
    }
  }

  private startPacket(len: number, continuation: boolean): void {
    this.len = len;
    this.continuation = continuation;
    this.want = len === 0 || continuation ? 0 : -1;
    this.have = 0;
    this.skipLeft = continuation ? len : 0;
  }

  private endPacket(): void {
    if (this.continuation) {
      this.len = -1;
      return;
    }
    // A head split across chunks (its parts are copies); otherwise the one part.
    const head = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const len = this.len;
    this.parts = [];
    this.len = -1;
    this.onHead(len, head, 0, head.length);
  }
}

export function packet(seq: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeUIntLE(payload.length, 0, 3);
  out[3] = seq & 0xff;
  payload.copy(out, 4);
  return out;
}

/** Bounds-checked field reads. */
export class MyReader {
  off = 0;
  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new MyProtocolError('packet too short');
  }

  u8(): number { this.need(1); return this.buf[this.off++]!; }
  u16(): number { this.need(2); const v = this.buf.readUInt16LE(this.off); this.off += 2; return v; }
  u24(): number { this.need(3); const v = this.buf.readUIntLE(this.off, 3); this.off += 3; return v; }
  u32(): number { this.need(4); const v = this.buf.readUInt32LE(this.off); this.off += 4; return v; }
  u64(): number { this.need(8); const v = Number(this.buf.readBigUInt64LE(this.off)); this.off += 8; return v; }
  bytes(n: number): Buffer { this.need(n); const b = this.buf.subarray(this.off, this.off + n); this.off += n; return b; }
  skip(n: number): void { this.need(n); this.off += n; }
  rest(): Buffer { const b = this.buf.subarray(this.off); this.off = this.buf.length; return b; }

  cstring(): string {
    const end = this.buf.indexOf(0, this.off);
    if (end < 0) throw new MyProtocolError('unterminated string');
    const s = this.buf.toString('utf8', this.off, end);
    this.off = end + 1;
    return s;
  }

  /** Length-encoded integer; null for the NULL marker 0xfb. */
  lenenc(): number | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) return this.u64();
    throw new MyProtocolError('bad length-encoded integer');
  }

  lenencBytes(): Buffer | null {
    const n = this.lenenc();
    return n === null ? null : this.bytes(n);
  }
}

export function lenenc(n: number): Buffer {
  if (n < 0xfb) return Buffer.from([n]);
  if (n < 0x10000) { const b = Buffer.alloc(3); b[0] = 0xfc; b.writeUInt16LE(n, 1); return b; }
  if (n < 0x1000000) { const b = Buffer.alloc(4); b[0] = 0xfd; b.writeUIntLE(n, 1, 3); return b; }
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

export function errPacket(seq: number, code: number, sqlstate: string, message: string): Buffer {
  return packet(seq, Buffer.concat([Buffer.from([0xff]), u16(code), Buffer.from('#' + sqlstate), Buffer.from(message, 'utf8')]));
}

export function okPacket(seq: number, status: number, sessionTrack: boolean): Buffer {
  return packet(seq, Buffer.concat([Buffer.from([0x00, 0x00, 0x00]), u16(status), u16(0), sessionTrack ? Buffer.from([0]) : Buffer.alloc(0)]));
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** Fields of an ERR packet payload (0xff, code, '#', sqlstate, message). */
export function parseErr(payload: Buffer): { code: number; sqlstate: string; message: string } {
  const r = new MyReader(payload);
  r.u8();
  const code = r.u16();
  let sqlstate = '';
  if (r.remaining > 0 && payload[r.off] === 0x23) { r.skip(1); sqlstate = r.bytes(Math.min(5, r.remaining)).toString('latin1'); }
  return { code, sqlstate, message: r.rest().toString('utf8') };
}
