// Client→server MySQL commands as the statement log needs them, sans-I/O: fed the bytes the relay
// forwards to the target (so what is recorded is exactly what the target got), it frames packets
// and joins a command that spans several packets (a payload of 2^24-1 bytes continues in the next
// packet) into one. Statement commands (COM_QUERY, COM_STMT_PREPARE) are kept whole up to the
// statement cap; any other command keeps its first `headMax` bytes (parameters, ids). A statement
// whose text grows past the cap is refused as soon as a packet header or command byte says so:
// push() answers false for that chunk and every later one, so the caller forwards nothing more and
// the target is left with an unfinished packet it never runs; the rest of the statement is read
// and dropped, and once it has all arrived (the client now waits for an answer) onRefused says so.
// Never touches a socket.
import { MAX_PAYLOAD, type MyPacket, MyProtocolError } from './wire/packets.js';

const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;

export class MyStatementTooLarge extends MyProtocolError {
  constructor(
    /** The refused statement's text bytes (command byte not counted). */
    readonly textBytes: number,
    readonly limit: number,
    /** The sequence id the client expects on the server's answer. */
    readonly replySeq: number,
  ) {
    super(`statement of ${textBytes} bytes over the limit of ${limit} bytes`);
  }
}

export class MyCommandAssembler {
  private readonly hdr = Buffer.alloc(4);
  private hdrHave = 0;
  /** Payload bytes of the current packet still to read; -1 between packets. */
  private left = -1;
  private packetLen = 0;
  private packetSeq = 0;
  /** The command being assembled: null between commands or for a packet that is not a command. */
  private cmd: { command: number | null; total: number; parts: Buffer[]; kept: number; statement: boolean } | null = null;
  /** The last packet had a full payload: the next one continues the same command. */
  private continues = false;
  /** A statement over the cap is being read to its end and dropped. */
  private refusing = false;
  /** The refused statement has ended: nothing more is read. */
  private stopped = false;

  constructor(
    private readonly onCommand: (p: MyPacket) => void,
    /** Called once the refused statement has been read to its end: the client now waits for the answer. */
    private readonly onRefused: (e: MyStatementTooLarge) => void,
    private readonly statementMax: number,
    private readonly headMax = 64 * 1024,
    /** The payload length that continues in the next packet (2^24-1; smaller in tests). */
    private readonly maxPayload = MAX_PAYLOAD,
  ) {}

  /**
   * Forwarded bytes. False from the chunk where a statement goes over the cap onwards: the caller
   * must not forward that chunk or anything after it, and keeps passing bytes here to be dropped.
   */
  push(chunk: Buffer): boolean {
    let off = 0;
    while (off < chunk.length && !this.stopped) {
      if (this.left < 0) {
        const take = Math.min(4 - this.hdrHave, chunk.length - off);
        chunk.copy(this.hdr, this.hdrHave, off, off + take);
        this.hdrHave += take;
        if (this.hdrHave < 4) break;
        const len = this.hdr.readUIntLE(0, 3);
        const seq = this.hdr[3]!;
        if (this.continues && this.cmd) {
          this.cmd.total += len;
          if (this.cmd.statement && this.cmd.total - 1 > this.statementMax) this.refuse(this.cmd);
        } else {
          // Sequence 0 starts a command; anything else outside a continuation (LOCAL INFILE data) is skipped.
          this.cmd = seq === 0 ? { command: null, total: len, parts: [], kept: 0, statement: false } : null;
        }
        off += take;
        this.hdrHave = 0;
        this.left = len;
        this.packetLen = len;
        this.packetSeq = seq;
      }
      const cmd = this.cmd;
      if (off === chunk.length && this.left > 0) break;
      if (cmd && cmd.command === null && this.left > 0) {
        // The command byte decides what is kept; a statement over the cap is refused here.
        const command = chunk[off]!;
        cmd.command = command;
        cmd.statement = command === COM_QUERY || command === COM_STMT_PREPARE;
        if (cmd.statement && cmd.total - 1 > this.statementMax) this.refuse(cmd);
      }
      const take = Math.min(this.left, chunk.length - off);
      if (cmd && !this.refusing) {
        const room = cmd.statement ? take : Math.min(take, this.headMax - cmd.kept);
        if (room > 0) {
          cmd.parts.push(chunk.subarray(off, off + room));
          cmd.kept += room;
        }
      }
      off += take;
      this.left -= take;
      if (this.left > 0) break;
      this.left = -1;
      this.continues = this.packetLen === this.maxPayload;
      if (this.continues || !cmd) continue;
      this.cmd = null;
      if (this.refusing) {
        this.stopped = true;
        this.onRefused(new MyStatementTooLarge(cmd.total - 1, this.statementMax, (this.packetSeq + 1) & 0xff));
      } else {
        this.onCommand({ seq: 0, length: cmd.total, head: cmd.parts.length === 1 ? Buffer.from(cmd.parts[0]!) : Buffer.concat(cmd.parts) });
      }
    }
    return !this.refusing;
  }

  private refuse(cmd: { parts: Buffer[] }): void {
    this.refusing = true;
    cmd.parts = [];
  }
}
