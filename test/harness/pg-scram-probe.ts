// A hand-built PostgreSQL client that goes only as far as the SCRAM server-first-message and
// returns its salt and iteration count: what an outsider sees for a user name before any password.
// No stock client prints these, hence raw. TLS (sslmode=require semantics: no verification).
import { once } from 'node:events';
import { connect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface ScramFirst { salt: string; iterations: number; raw: string }

const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };

/** Reads whole backend messages from a socket (type byte, int32 length, body). */
class Messages {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;

  constructor(sock: TLSSocket) {
    sock.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.waiter?.(); });
    sock.on('close', () => { this.ended = true; this.waiter?.(); });
    sock.on('error', () => {});
  }

  async next(): Promise<{ type: string; body: Buffer }> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= 1 + len) {
          const m = { type: String.fromCharCode(this.buf[0]!), body: this.buf.subarray(5, 1 + len) };
          this.buf = this.buf.subarray(1 + len);
          return m;
        }
      }
      if (this.ended) throw new Error('connection closed before the message');
      await new Promise<void>((r) => { this.waiter = r; });
      this.waiter = null;
    }
  }
}

export async function scramServerFirst(port: number, login: string, database = 'postgres'): Promise<ScramFirst> {
  const raw = connect(port, '127.0.0.1');
  await once(raw, 'connect');
  raw.write(Buffer.concat([int32(8), int32(80877103)]));
  const [answer] = (await once(raw, 'data')) as [Buffer];
  if (answer.toString() !== 'S') throw new Error('the gateway refused TLS');
  const tls = tlsConnect({ socket: raw, rejectUnauthorized: false });
  await once(tls, 'secureConnect');
  const msgs = new Messages(tls);
  try {
    const params = Buffer.from(`user\0${login}\0database\0${database}\0\0`);
    tls.write(Buffer.concat([int32(8 + params.length), int32(196608), params]));
    const sasl = await msgs.next();
    if (sasl.type !== 'R' || sasl.body.readInt32BE(0) !== 10) throw new Error(`expected AuthenticationSASL, got ${sasl.type}: ${sasl.body.toString()}`);
    const first = Buffer.from('n,,n=*,r=probeprobeprobeprobe');
    const body = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), int32(first.length), first]);
    tls.write(Buffer.concat([Buffer.from('p'), int32(4 + body.length), body]));
    const cont = await msgs.next();
    if (cont.type !== 'R' || cont.body.readInt32BE(0) !== 11) throw new Error(`expected AuthenticationSASLContinue, got ${cont.type}: ${cont.body.toString()}`);
    const text = cont.body.subarray(4).toString();
    const attrs = new Map(text.split(',').map((p) => [p.slice(0, 1), p.slice(2)] as const));
    return { salt: attrs.get('s') ?? '', iterations: Number(attrs.get('i')), raw: text };
  } finally {
    tls.destroy();
  }
}
