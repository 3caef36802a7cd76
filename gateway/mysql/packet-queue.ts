// Whole MySQL packets from a socket, one at a time, for the connection phase on either leg.
// Bounded per packet, and in what it buffers: past two packets' worth the socket is paused until a
// packet is taken (a peer streaming megabytes before its login no longer grows memory). `detach`
// hands over bytes already read (pipelined commands, or a TLS ClientHello that arrived with the
// SSLRequest).
import type { Socket } from 'node:net';
import { MyProtocolError } from './wire/packets.js';

export class PacketQueue {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed = false;
  private failure: Error | null = null;
  private paused = false;
  private readonly onData = (d: Buffer): void => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (this.buf.length >= this.maxBuffered && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.waiter?.();
  };
  private readonly onClose = (): void => { this.closed = true; this.waiter?.(); };
  /** Always holds a whole packet or the start of an oversized one, so pausing cannot stall a read. */
  private readonly maxBuffered: number;

  constructor(private socket: Socket, private readonly maxPacket: number, private readonly closedError: () => Error) {
    this.maxBuffered = 2 * (maxPacket + 4);
    this.attach(socket);
  }

  /** Ends reading with this error (e.g. the TLS layer's) unless the peer already closed. */
  fail(err: Error): void {
    if (this.closed) return;
    this.failure = err;
    this.closed = true;
    this.waiter?.();
  }

  private attach(s: Socket): void {
    this.socket = s;
    s.on('data', this.onData);
    s.on('close', this.onClose);
    s.on('error', this.onClose);
  }

  switchTo(s: Socket): void {
    this.detach();
    this.attach(s);
  }

  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onClose);
    // Flowing again from the next tick, for whoever attaches next (or pauses it again at once).
    if (this.paused) this.socket.resume();
    this.paused = false;
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  async next(): Promise<{ seq: number; payload: Buffer }> {
    for (;;) {
      if (this.buf.length >= 4) {
        const len = this.buf.readUIntLE(0, 3);
        if (len > this.maxPacket) throw new MyProtocolError(`connection-phase packet of ${len} bytes`);
        if (this.buf.length >= 4 + len) {
          const p = { seq: this.buf[3]!, payload: Buffer.from(this.buf.subarray(4, 4 + len)) };
          this.buf = this.buf.subarray(4 + len);
          if (this.paused && this.buf.length < this.maxBuffered) {
            this.paused = false;
            this.socket.resume();
          }
          return p;
        }
      }
      if (this.closed) throw this.failure ?? this.closedError();
      await new Promise<void>((r) => { this.waiter = r; });
      this.waiter = null;
    }
  }
}
