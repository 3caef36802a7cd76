// Whole MySQL packets from a socket, one at a time, for the connection phase on either leg.
// Bounded per packet; `detach` hands over bytes already read (pipelined commands, or a TLS
// ClientHello that arrived with the SSLRequest).
import type { Socket } from 'node:net';
import { MyProtocolError } from './wire/packets.js';

export class PacketQueue {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed = false;
  private readonly onData = (d: Buffer): void => { this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d; this.waiter?.(); };
  private readonly onClose = (): void => { this.closed = true; this.waiter?.(); };

  constructor(private socket: Socket, private readonly maxPacket: number, private readonly closedError: () => Error) {
    this.attach(socket);
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
          return p;
        }
      }
      if (this.closed) throw this.closedError();
      await new Promise<void>((r) => { this.waiter = r; });
      this.waiter = null;
    }
  }
}
