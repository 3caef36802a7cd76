// Reads the client's side of the handshake from a socket: the untyped startup packets, then typed
// messages, one at a time, each bounded. What is buffered is bounded too: past MAX_BUFFERED the
// socket is paused until the handshake takes a message (a client streaming megabytes before its
// login no longer grows the gateway's memory). `detach` hands over whatever the client already
// pipelined, so the relay can forward it once the target is ready.
import type { Socket } from 'node:net';
import { PgProtocolError } from './wire/frames.js';
import { StartupReader, type StartupPacket } from './wire/startup.js';

const MAX_HANDSHAKE_MESSAGE = 64 * 1024;
/** Always holds a whole message or the start of a bad one, so a paused socket cannot stall a read. */
const MAX_BUFFERED = 2 * MAX_HANDSHAKE_MESSAGE;

export class HandshakeReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended: PgProtocolError | null = null;
  private paused = false;
  private readonly onData = (d: Buffer): void => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (this.buf.length >= MAX_BUFFERED && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.wake();
  };
  private readonly onEnd = (): void => { this.ended = new PgProtocolError('client closed the connection during the handshake'); this.wake(); };

  constructor(private socket: Socket) {
    this.attach(socket);
  }

  private attach(s: Socket): void {
    this.socket = s;
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
  }

  /** Moves reading to a new socket (after the TLS upgrade). */
  switchTo(s: Socket): void {
    this.detach();
    this.attach(s);
  }

  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    // Flowing again from the next tick, for whoever attaches next (or pauses it again at once).
    if (this.paused) this.socket.resume();
    this.paused = false;
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  /** Ends the handshake with this error (e.g. the TLS layer's) unless it already ended. */
  fail(err: PgProtocolError): void {
    this.ended ??= err;
    this.wake();
  }

  private took(): void {
    if (this.paused && this.buf.length < MAX_BUFFERED) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async more(): Promise<void> {
    if (this.ended) throw this.ended;
    await new Promise<void>((r) => { this.waiter = r; });
    const ended = this.ended as PgProtocolError | null;
    if (ended && this.buf.length === 0) throw ended;
  }

  async startup(): Promise<StartupPacket> {
    for (;;) {
      const reader = new StartupReader();
      const got = this.buf.length > 0 ? reader.push(this.buf) : null;
      if (got) { this.buf = Buffer.from(got.rest); this.took(); return got.packet; }
      await this.more();
    }
  }

  async message(): Promise<{ type: string; body: Buffer }> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (len < 4 || len > MAX_HANDSHAKE_MESSAGE) throw new PgProtocolError(`handshake message length ${len} out of range`);
        if (this.buf.length >= 1 + len) {
          const type = String.fromCharCode(this.buf[0]!);
          const body = Buffer.from(this.buf.subarray(5, 1 + len));
          this.buf = this.buf.subarray(1 + len);
          this.took();
          return { type, body };
        }
      }
      await this.more();
    }
  }
}
