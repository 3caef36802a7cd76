// Client→server MySQL packets in the command phase, sans-I/O: turns the byte stream into commands
// the relay can gate, however the bytes arrive (any TCP segmentation) and however big. A command
// whose text the gateway must read before the target sees it — chosen by the caller (`held`) — is
// collected whole, its 2^24-1-byte continuation packets joined, up to a limit; above it the command
// is dropped and reported. Other packets (bulk: COM_STMT_EXECUTE parameters, long data) under
// `streamAt` bytes are delivered whole; bigger ones are passed on as they arrive, after the caller
// has seen their first `headBytes` bytes and chosen to forward or drop them (continuations follow
// that choice). Delivers the bytes as sent alongside, so allowed commands go on unchanged. Decides
// nothing and touches no socket. Every payload's first byte is taken as its command, whatever the
// packet's sequence id (a server may take an out-of-order one).
import { MAX_PAYLOAD, MyProtocolError, packet } from './packets.js';

export interface ClientCommandSink {
  /** A whole logical payload (continuations joined); `raw` are its packets' bytes as they came. */
  whole(seq: number, payload: Buffer, raw: readonly Buffer[]): void;
  /** A held command grew past the limit: it and its remaining bytes are dropped. */
  tooBig(seq: number, command: number, length: number): void;
  /**
   * The command `tooBig` reported has now been read to its end (all dropped): `lastSeq` is its last
   * packet's sequence id (an answer goes out as lastSeq + 1), `length` its whole payload length.
   */
  tooBigEnd?(lastSeq: number, command: number, length: number): void;
  /** The start of a big packet: return true to pass it on (then `streamBytes` follows), false to drop it. */
  streamStart(seq: number, head: Buffer, firstPacketLength: number): boolean;
  /** Bytes (packet headers included) of a packet being passed on. */
  streamBytes(bytes: Buffer): void;
}

export interface ClientCommandLimits {
  /** Largest single packet (protocol error above). */
  maxPacket: number;
  /** Largest held command, continuations included. */
  maxHeld: number;
  /** Packets from this size on are streamed unless held. */
  streamAt: number;
  /** Bytes of a streamed packet seen before it is passed on or dropped. */
  headBytes: number;
}

type Body =
  | { kind: 'whole'; held: boolean }
  | { kind: 'head' }
  | { kind: 'stream' }
  | { kind: 'drop' };

/** What the packets after a full-size one continue. */
type Continuing = null | 'held' | 'stream' | 'drop';

export class ClientCommands {
  private readonly hdr = Buffer.alloc(4);
  private hdrHave = 0;
  /** Length and sequence id of the packet being read; -1 between packets. */
  private len = -1;
  private seq = 0;
  private left = 0;
  private body: Body = { kind: 'whole', held: false };
  private continuing: Continuing = null;
  /** Payload parts and raw parts (headers included) of the logical payload being collected. */
  private parts: Buffer[] = [];
  private raw: Buffer[] = [];
  private headHave = 0;
  private logical = 0;
  private firstSeq = 0;
  /** The command byte of the logical payload; -1 until its first byte is here. */
  private command = -1;
  /** The payload being dropped went over the held limit (its end is reported through tooBigEnd). */
  private overHeld = false;

  constructor(private readonly sink: ClientCommandSink, private readonly held: (command: number) => boolean, private readonly limits: ClientCommandLimits) {}

  /** True between commands (no packet and no continuation pending). */
  get atBoundary(): boolean {
    return this.len < 0 && this.hdrHave === 0 && this.continuing === null;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.atBoundary && chunk.length - off >= 4) {
        // The common case, a small packet wholly in this chunk: views of the chunk, no state.
        const len = chunk.readUIntLE(off, 3);
        const end = off + 4 + len;
        if (len < this.limits.streamAt && len < MAX_PAYLOAD && len <= this.limits.maxHeld && len <= this.limits.maxPacket && end <= chunk.length) {
          this.sink.whole(chunk[off + 3]!, chunk.subarray(off + 4, end), [chunk.subarray(off, end)]);
          off = end;
          continue;
        }
      }
      if (this.len < 0) {
        const take = Math.min(4 - this.hdrHave, chunk.length - off);
        chunk.copy(this.hdr, this.hdrHave, off, off + take);
        this.hdrHave += take;
        off += take;
        if (this.hdrHave < 4) return;
        this.hdrHave = 0;
        // A header read in one piece stays a view of the chunk, so a small packet is forwarded as one write.
        this.startPacket(take === 4 ? chunk.subarray(off - 4, off) : Buffer.from(this.hdr));
        if (this.len === 0) this.endPacket();
        continue;
      }
      const take = Math.min(this.left, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      this.left -= take;
      this.bodyBytes(piece);
      if (this.left === 0) this.endPacket();
    }
  }

  private startPacket(header: Buffer): void {
    const len = this.hdr.readUIntLE(0, 3);
    if (len > this.limits.maxPacket) throw new MyProtocolError(`packet length ${len} over the limit ${this.limits.maxPacket}`);
    this.len = len;
    this.seq = this.hdr[3]!;
    this.left = len;
    switch (this.continuing) {
      case 'held':
        this.logical += len;
        if (this.logical > this.limits.maxHeld) { this.overLimit(); return; }
        this.raw.push(header);
        this.body = { kind: 'whole', held: true };
        return;
      case 'stream':
        this.sink.streamBytes(header);
        this.body = { kind: 'stream' };
        return;
      case 'drop':
        if (this.overHeld) this.logical += len;
        this.body = { kind: 'drop' };
        return;
      case null:
        this.firstSeq = this.seq;
        this.logical = len;
        this.parts = [];
        this.raw = [header];
        this.headHave = 0;
        this.command = -1;
        this.body = { kind: 'head' };
    }
  }

  private overLimit(): void {
    this.overHeld = true;
    this.sink.tooBig(this.firstSeq, this.command, this.logical);
    this.parts = [];
    this.raw = [];
    this.body = { kind: 'drop' };
  }

  private bodyBytes(piece: Buffer): void {
    const b = this.body;
    if (b.kind === 'stream') { this.sink.streamBytes(piece); return; }
    if (b.kind === 'drop') return;
    if (b.kind === 'head' && this.command < 0) {
      // The first byte of a new payload: the command decides how it is read.
      this.command = piece[0]!;
      if (this.held(this.command)) {
        if (this.logical > this.limits.maxHeld) { this.overLimit(); return; }
        this.body = { kind: 'whole', held: true };
      } else if (this.len < this.limits.streamAt && this.len < MAX_PAYLOAD) {
        this.body = { kind: 'whole', held: false };
      }
    }
    this.parts.push(piece);
    this.raw.push(piece);
    if (this.body.kind !== 'head') return;
    this.headHave += piece.length;
    if (this.headHave >= Math.min(this.len, this.limits.headBytes)) this.decideStream();
  }

  /** A big packet's head is here: forward it (and what follows) or drop it. */
  private decideStream(): void {
    const head = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const raw = this.raw;
    this.parts = [];
    this.raw = [];
    if (this.sink.streamStart(this.firstSeq, head, this.len)) {
      for (const r of raw) this.sink.streamBytes(r);
      this.body = { kind: 'stream' };
    } else {
      this.body = { kind: 'drop' };
    }
  }

  private endPacket(): void {
    // An empty packet starting a payload has no command byte: deliver it whole, as it is.
    if (this.body.kind === 'head') this.body = { kind: 'whole', held: false };
    const body = this.body;
    const full = this.len === MAX_PAYLOAD;
    this.len = -1;
    if (full) {
      // Only held payloads are collected across packets; a full-size packet is never "whole" otherwise.
      this.continuing = body.kind === 'whole' ? 'held' : body.kind === 'stream' ? 'stream' : 'drop';
      return;
    }
    this.continuing = null;
    if (this.overHeld) {
      this.overHeld = false;
      this.sink.tooBigEnd?.(this.seq, this.command, this.logical);
    }
    if (body.kind !== 'whole') return;
    const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const raw = this.raw;
    this.parts = [];
    this.raw = [];
    this.sink.whole(this.firstSeq, payload, joinContiguous(raw));
  }
}

/** Rejoins raw pieces that are adjacent views of the same chunk, so a small packet is one write. */
function joinContiguous(raw: Buffer[]): Buffer[] {
  if (raw.length < 2) return raw;
  const out: Buffer[] = [raw[0]!];
  for (let i = 1; i < raw.length; i++) {
    const prev = out[out.length - 1]!;
    const cur = raw[i]!;
    if (prev.buffer === cur.buffer && prev.byteOffset + prev.length === cur.byteOffset) {
      out[out.length - 1] = Buffer.from(prev.buffer, prev.byteOffset, prev.length + cur.length);
    } else {
      out.push(cur);
    }
  }
  return out;
}

/** A payload as packets (sequence ids from 0), split at 2^24-1 bytes with the empty last packet the protocol wants. */
export function framePayload(payload: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  let seq = 0;
  for (;;) {
    const n = Math.min(MAX_PAYLOAD, payload.length - off);
    out.push(packet(seq++ & 0xff, payload.subarray(off, off + n)));
    off += n;
    if (n < MAX_PAYLOAD) return out;
  }
}
