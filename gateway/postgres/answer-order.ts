// Where the gate's refusals go in the server→client stream, so a client that pipelines sees every
// answer in the order it sent the commands (used only when gate rules are configured). The target
// answers each forwarded Query, FunctionCall and Sync with exactly one ReadyForQuery; we count them
// both ways. A refused simple Query or FunctionCall gets ErrorResponse + ReadyForQuery once the
// target has answered everything forwarded before it. A refused extended-protocol message gets its
// ErrorResponse right before the ReadyForQuery that answers the Sync ending its batch: after the
// replies to the batch's earlier messages, as the target itself would place an error.
// Sans-I/O apart from the write callback; does not decide anything, frame client bytes or record.
import { PgProtocolError } from './wire/frames.js';
import { readyForQuery } from './wire/server-messages.js';

type Status = 'I' | 'T' | 'E';

interface Pending {
  /** The count of ReadyForQuery from the target this answer waits for. */
  at: number;
  /** Written right before that ReadyForQuery (extended protocol) instead of after it. */
  before: boolean;
  /** The ErrorResponse; a simple query's refusal adds its own ReadyForQuery when written. */
  error: Buffer;
}

export class PgAnswerOrder {
  private syncsForwarded = 0;
  private readySeen = 0;
  private status: Status;
  private readonly pending: Pending[] = [];
  // Just enough framing of the server stream to find message starts and ReadyForQuery.
  private readonly hdr = Buffer.alloc(5);
  private hdrHave = 0;
  private bodyLeft = -1;
  private type = '';

  constructor(private readonly write: (bytes: Buffer) => void, initial: Status) {
    this.status = initial;
  }

  /** A whole client message went to the target. */
  forwarded(type: string): void {
    if (type === 'Q' || type === 'F' || type === 'S') this.syncsForwarded++;
  }

  /** The gate refused a client message: `error` is its ErrorResponse. */
  refused(type: string, error: Buffer): void {
    if (type === 'Q' || type === 'F') this.pending.push({ at: this.syncsForwarded, before: false, error });
    else this.pending.push({ at: this.syncsForwarded + 1, before: true, error });
    if (this.atBoundary) this.flushAfter();
  }

  /** Server bytes, written on to the client with any refusal due at its place. */
  server(chunk: Buffer): void {
    let off = 0;
    let from = 0;
    while (off < chunk.length) {
      if (this.bodyLeft < 0) {
        if (this.hdrHave === 0 && chunk[off] === 0x5a /* Z */) {
          // A ReadyForQuery starts here: an extended-protocol refusal of this batch goes first.
          const due = this.pending[0];
          if (due && due.before && due.at === this.readySeen + 1) {
            if (off > from) this.write(chunk.subarray(from, off));
            from = off;
            this.pending.shift();
            this.write(due.error);
          }
        }
        const take = Math.min(5 - this.hdrHave, chunk.length - off);
        chunk.copy(this.hdr, this.hdrHave, off, off + take);
        this.hdrHave += take;
        off += take;
        if (this.hdrHave < 5) break;
        const len = this.hdr.readInt32BE(1);
        if (len < 4) throw new PgProtocolError(`message length ${len} below 4`);
        this.type = String.fromCharCode(this.hdr[0]!);
        this.bodyLeft = len - 4;
      }
      const take = Math.min(this.bodyLeft, chunk.length - off);
      if (this.type === 'Z' && take > 0 && this.bodyLeft === 1) this.status = String.fromCharCode(chunk[off]!) as Status;
      this.bodyLeft -= take;
      off += take;
      if (this.bodyLeft > 0) break;
      this.bodyLeft = -1;
      this.hdrHave = 0;
      if (this.type === 'Z') {
        this.readySeen++;
        // With no refusal waiting, the chunk is written whole (one write, one TLS record).
        if (this.pending.length > 0) {
          if (off > from) this.write(chunk.subarray(from, off));
          from = off;
          this.flushAfter();
        }
      }
    }
    if (from === 0) this.write(chunk);
    else if (off > from) this.write(chunk.subarray(from, off));
  }

  private get atBoundary(): boolean {
    return this.bodyLeft < 0 && this.hdrHave === 0;
  }

  /** Writes the simple-query refusals whose turn has come (at a message boundary only). */
  private flushAfter(): void {
    for (;;) {
      const due = this.pending[0];
      if (!due || due.at > this.readySeen || (due.before && due.at === this.readySeen + 1)) return;
      this.pending.shift();
      // A batch refusal whose ReadyForQuery went by without it (a client that broke the protocol's
      // rules, e.g. a Query inside a batch) is still said, late, rather than holding up the rest.
      this.write(due.before ? due.error : Buffer.concat([due.error, readyForQuery(this.status)]));
    }
  }
}
