// PostgreSQL v3 message framing, sans-I/O: bytes in, message heads out, for either direction.
// Typed messages are `byte type, int32 length (self-inclusive), body`. Only the first `headMax`
// bytes of a body are kept (what recording needs: tags, error fields, parameters); bulk bodies
// (DataRow, CopyData) are counted and skipped without copying. A length below 4 or above the
// configured limit is a protocol error that ends that one connection. On the client stream, with
// `statementMax` set, the messages that carry statement text (Query, Parse) or stand for one
// (FunctionCall: its arguments may be SQL text, e.g. query_to_xml; Bind: its parameters may be
// too, `SELECT query_to_xml($1, ...)`) are kept whole, so none is
// recorded cut short; one longer than `statementMax` is refused as soon as its length is known
// (PgStatementTooLarge), before any of its body is read.

export class PgProtocolError extends Error {}

/** A Query, Parse, Bind or FunctionCall longer than the statement cap: nothing of it may reach the target. */
export class PgStatementTooLarge extends PgProtocolError {
  constructor(
    readonly messageType: string,
    readonly textBytes: number,
    readonly limit: number,
    /** The message body's length: what the client still sends after the header. */
    readonly bodyBytes: number,
    /** Where in the pushed chunk the body starts (the chunk's length when it ends with the header). */
    readonly bodyStart: number,
  ) {
    super(`statement of ${textBytes} bytes over the limit of ${limit} bytes`);
  }
}

/**
 * Bytes of a statement message's body that are not statement text: Query has a NUL; Parse at least
 * a NUL-terminated (empty) name, the text's NUL and a parameter count; FunctionCall at least an
 * OID, two counts and the result format (the rest is its arguments); Bind at least two empty
 * names and three counts (the rest is its parameters, which count against the same cap).
 */
const STATEMENT_OVERHEAD: Record<string, number> = { Q: 1, P: 4, F: 10, B: 8 };

export interface PgMessage {
  type: string;
  /** Body length (without type and length fields). */
  length: number;
  /** The first min(length, headMax) bytes of the body. */
  head: Buffer;
}

export const DEFAULT_MAX_MESSAGE = 256 * 1024 * 1024;

export class PgFrameReader {
  private hdr = Buffer.alloc(5);
  private hdrHave = 0;
  private bodyLen = -1;
  private head: Buffer[] = [];
  private headHave = 0;
  private skipLeft = 0;
  private type = '';
  /** The head kept of the current message: `headMax`, or the whole body of a statement message. */
  private keep = 0;

  constructor(
    /** `end`: the offset in the pushed chunk just past this message. */
    private readonly onMessage: (m: PgMessage, end: number) => void,
    private readonly maxMessage = DEFAULT_MAX_MESSAGE,
    private readonly headMax = 64 * 1024,
    /** Client streams: the cap on statement text, kept whole up to it (null: heads only). */
    private readonly statementMax: number | null = null,
    /** Types whose body is kept (up to `headMax`); null: all. Others are counted and skipped, never copied (a server's DataRow). */
    private readonly bodiesKept: ReadonlySet<string> | null = null,
    /**
     * false: a head lying whole in one pushed chunk is handed over as a view of that chunk, not a
     * copy. Only for a consumer that reads the head during the callback and keeps none of it
     * (the relay's statement log keeps strings), over chunks that are never reused.
     */
    private readonly copyHeads = true,
  ) {}

  /** True when no message is partially read: a place where another message may be inserted. */
  get atBoundary(): boolean {
    return this.bodyLen < 0 && this.hdrHave === 0;
  }

  /** The type of the message partly read so far, or null at a boundary. */
  get partialType(): string | null {
    return this.bodyLen < 0 ? null : this.type;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.bodyLen < 0) {
        const take = Math.min(5 - this.hdrHave, chunk.length - off);
        chunk.copy(this.hdr, this.hdrHave, off, off + take);
        this.hdrHave += take;
        off += take;
        if (this.hdrHave < 5) return;
        const len = this.hdr.readInt32BE(1);
        if (len < 4 || len - 4 > this.maxMessage) throw new PgProtocolError(`message length ${len} outside 4..${this.maxMessage + 4}`);
        const type = String.fromCharCode(this.hdr[0]!);
        const overhead = this.statementMax === null ? undefined : STATEMENT_OVERHEAD[type];
        if (overhead !== undefined && len - 4 - overhead > this.statementMax!) {
          throw new PgStatementTooLarge(type, len - 4 - overhead, this.statementMax!, len - 4, off);
        }
        this.type = type;
        this.bodyLen = len - 4;
        this.keep = overhead !== undefined ? this.bodyLen : this.bodiesKept === null || this.bodiesKept.has(type) ? Math.min(this.bodyLen, this.headMax) : 0;
        this.head = [];
        this.headHave = 0;
        this.skipLeft = this.bodyLen - this.keep;
      }
      const want = this.keep - this.headHave;
      if (want > 0) {
        const take = Math.min(want, chunk.length - off);
        this.head.push(chunk.subarray(off, off + take));
        this.headHave += take;
        off += take;
        if (this.headHave < this.keep) return;
      }
      if (this.skipLeft > 0) {
        const take = Math.min(this.skipLeft, chunk.length - off);
        this.skipLeft -= take;
        off += take;
        if (this.skipLeft > 0) return;
      }
      const head = this.head.length === 0 ? EMPTY : this.head.length > 1 ? Buffer.concat(this.head) : this.copyHeads ? Buffer.from(this.head[0]!) : this.head[0]!;
      const m: PgMessage = { type: this.type, length: this.bodyLen, head };
      this.bodyLen = -1;
      this.hdrHave = 0;
      this.head = [];
      this.onMessage(m, off);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** Bounds-checked reads of message fields. */
export class PgReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  int16(): number {
    if (this.off + 2 > this.buf.length) throw new PgProtocolError('message too short');
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }

  int32(): number {
    if (this.off + 4 > this.buf.length) throw new PgProtocolError('message too short');
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  /** A NUL-terminated string; a string cut off by the head limit is returned as far as it goes. */
  cstring(): string {
    const end = this.buf.indexOf(0, this.off);
    const stop = end < 0 ? this.buf.length : end;
    const s = this.buf.toString('utf8', this.off, stop);
    this.off = end < 0 ? this.buf.length : end + 1;
    return s;
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.off + n > this.buf.length) throw new PgProtocolError('field runs past the message');
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  rest(): Buffer {
    const b = this.buf.subarray(this.off);
    this.off = this.buf.length;
    return b;
  }
}
