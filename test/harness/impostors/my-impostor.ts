// The common half of the MySQL impostors: a TCP server that greets like a MySQL 8 server
// (caching_sha2_password, no TLS), reads the gateway's HandshakeResponse, lets a trick script run
// the rest of the login, and then answers any command with OK so a real client can finish. Keeps
// every byte the gateway sent, so a test can show it received nothing usable. One trick per file
// beside this one. Hand-built on purpose: no stock server sends these answers.
import { createServer, type Socket } from 'node:net';
import { CAP } from '../../../gateway/mysql/wire/capabilities.js';
import { encodeGreeting } from '../../../gateway/mysql/wire/handshake.js';

export interface MyPacket { seq: number; payload: Buffer }

export interface MyImpostorConn {
  /** Sends one packet with the next sequence number. */
  send(payload: Buffer): void;
  next(): Promise<MyPacket | null>;
  /** Says the login worked and answers commands with OK until COM_QUIT or hang-up. */
  serveCommands(): Promise<void>;
}

export interface MyImpostor {
  port: number;
  received(): Buffer;
  /** The HandshakeResponse of each connection (a scramble, never the password). */
  responses: MyPacket[];
  /** Packets after the HandshakeResponses, over all connections, commands included. */
  packets: MyPacket[];
  close(): void;
}

export const NONCE = Buffer.from('0123456789abcdefghij');
const CAPS = CAP.LONG_PASSWORD | CAP.LONG_FLAG | CAP.CONNECT_WITH_DB | CAP.PROTOCOL_41 | CAP.TRANSACTIONS | CAP.SECURE_CONNECTION
  | CAP.MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;
const OK = Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);

export function startMyImpostor(trick: (c: MyImpostorConn) => Promise<void>): Promise<MyImpostor> {
  const chunks: Buffer[] = [];
  const packets: MyPacket[] = [];
  const responses: MyPacket[] = [];
  const sockets = new Set<Socket>();
  let connId = 100;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let wake: (() => void) | null = null;
    let closed = false;
    let seq = 0;
    let greeted = false;
    s.on('data', (d: Buffer) => { chunks.push(d); buf = Buffer.concat([buf, d]); wake?.(); });
    s.on('close', () => { closed = true; wake?.(); });
    const write = (payload: Buffer): void => {
      const head = Buffer.alloc(4);
      head.writeUIntLE(payload.length, 0, 3);
      head[3] = seq++ & 0xff;
      if (!s.destroyed) s.write(Buffer.concat([head, payload]));
    };
    const conn: MyImpostorConn = {
      send: write,
      next: async () => {
        while (buf.length < 4 || buf.length < 4 + buf.readUIntLE(0, 3)) {
          if (closed) return null;
          await new Promise<void>((r) => { wake = r; });
          wake = null;
        }
        const len = buf.readUIntLE(0, 3);
        const p = { seq: buf[3]!, payload: Buffer.from(buf.subarray(4, 4 + len)) };
        buf = buf.subarray(4 + len);
        seq = p.seq + 1;
        (greeted ? packets : responses).push(p);
        greeted = true;
        return p;
      },
      serveCommands: async () => {
        write(OK);
        for (let p = await conn.next(); p; p = await conn.next()) {
          if (p.payload[0] === 0x01) { s.end(); return; }
          write(OK);
        }
      },
    };
    write(encodeGreeting({
      serverVersion: '8.0.36', connectionId: connId++, nonce: NONCE, caps: CAPS, extCaps: 0, charset: 45, status: 2, plugin: 'caching_sha2_password',
    }));
    void (async () => {
      if (!(await conn.next())) return;
      await trick(conn);
    })().catch(() => s.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve({
      port: typeof a === 'object' && a ? a.port : 0, packets, responses, received: () => Buffer.concat(chunks),
      close: () => { server.close(); for (const s of sockets) s.destroy(); },
    });
  }));
}
