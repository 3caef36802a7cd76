// The SSH wire encoding (RFC 4251 section 5) as certificates use it: uint32, uint64 and
// length-prefixed strings. A bounded reader over one buffer that never reads past its end and
// reports a malformed input as a CertificateFormatError (never a RangeError from Buffer), and a
// writer that builds a buffer from parts. No I/O; knows nothing about what the fields mean.

/** The input is not a well-formed SSH structure; the message says which field. */
export class CertificateFormatError extends Error {
  override readonly name = 'CertificateFormatError';
}

export class WireReader {
  private pos = 0;

  constructor(private readonly buf: Buffer, private readonly what: string) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  uint32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A string's bytes; `max` bounds its length before anything is copied. */
  bytes(field: string, max: number): Buffer {
    const len = this.uint32(field);
    if (len > max) throw new CertificateFormatError(`${this.what}: ${field} is ${len} bytes, more than ${max}`);
    this.need(len, field);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** A string that must be printable UTF-8 text (names, key ids, principals). */
  text(field: string, max: number): string {
    const b = this.bytes(field, max);
    const s = b.toString('utf8');
    // Round trip: refuses invalid UTF-8 (decoded to U+FFFD). Control characters would end up in logs and prompts.
    if (!Buffer.from(s, 'utf8').equals(b) || b.some((c) => c < 0x20 || c === 0x7f)) {
      throw new CertificateFormatError(`${this.what}: ${field} is not printable UTF-8 text`);
    }
    return s;
  }

  /** Every byte was read: trailing bytes are refused, they could hide anything. */
  end(): void {
    if (this.pos !== this.buf.length) throw new CertificateFormatError(`${this.what}: ${this.buf.length - this.pos} unexpected trailing byte(s)`);
  }

  private need(n: number, field: string): void {
    if (this.buf.length - this.pos < n) throw new CertificateFormatError(`${this.what}: truncated at ${field}`);
  }
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

export function str(v: Buffer | string): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([u32(b.length), b]);
}
