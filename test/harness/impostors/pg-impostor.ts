// The common half of the PostgreSQL impostors: a TCP server that says it is the target (refuses
// TLS with 'N', reads the StartupMessage), then lets a trick script talk to the gateway, and keeps
// every byte the gateway sent so a test can show it received nothing usable. One trick per file
// beside this one. Hand-built on purpose: no stock server sends these answers.
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';

export interface PgMsg { type: string; body: Buffer }

export interface PgImpostorConn {
  send(...msgs: Buffer[]): void;
  /** The next whole message from the gateway; null when it hung up. */
  next(): Promise<PgMsg | null>;
  /** Reads (and keeps) everything until the gateway hangs up. */
  drain(): Promise<void>;
  /** The startup parameters the gateway sent (user, database, ...). */
  readonly startup: Record<string, string>;
}

export interface PgImpostor {
  port: number;
  /** Every byte the gateway sent, over all connections, in order. */
  received(): Buffer;
  /** Messages after the startup, over all connections, for finer assertions. */
  messages: PgMsg[];
  connections(): number;
  close(): void;
}

const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
export const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
export const auth = (code: number, ...rest: Buffer[]): Buffer => msg('R', int32(code), ...rest);
/** AuthenticationOk and what a server sends with it, up to ReadyForQuery: the login looks complete. */
export const loggedIn = (): Buffer => Buffer.concat([
  auth(0), msg('S', Buffer.from('server_version\x0015.0\x00')), msg('S', Buffer.from('client_encoding\x00UTF8\x00')),
  msg('K', int32(4242), int32(1234)), msg('Z', Buffer.from('I')),
]);

/** A server-first SCRAM message for the client-first inside a SASLInitialResponse body. */
export function scramServerFirst(initialResponse: Buffer): { serverFirst: string; clientFirstBare: string } {
  const mechEnd = initialResponse.indexOf(0);
  const len = initialResponse.readInt32BE(mechEnd + 1);
  const clientFirst = initialResponse.toString('utf8', mechEnd + 5, mechEnd + 5 + len);
  const clientFirstBare = clientFirst.slice(clientFirst.indexOf(',', clientFirst.indexOf(',') + 1) + 1);
  const cnonce = /r=([^,]+)/.exec(clientFirstBare)?.[1] ?? '';
  return { serverFirst: `r=${cnonce}${randomBytes(12).toString('base64')},s=${randomBytes(16).toString('base64')},i=4096`, clientFirstBare };
}

export function startPgImpostor(trick: (c: PgImpostorConn) => Promise<void>): Promise<PgImpostor> {
  const chunks: Buffer[] = [];
  const messages: PgMsg[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let wake: (() => void) | null = null;
    let closed = false;
    s.on('data', (d: Buffer) => { chunks.push(d); buf = Buffer.concat([buf, d]); wake?.(); });
    s.on('close', () => { closed = true; wake?.(); });
    const take = async (n: number): Promise<Buffer | null> => {
      while (buf.length < n) {
        if (closed) return null;
        await new Promise<void>((r) => { wake = r; });
        wake = null;
      }
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    const conn: PgImpostorConn = {
      startup: {},
      drain: async () => {
        while ((await conn.next()) !== null) { /* keep what it sends */ }
      },
      send: (...m) => { if (!s.destroyed) s.write(Buffer.concat(m)); },
      next: async () => {
        const head = await take(5);
        if (!head) return null;
        const body = await take(head.readInt32BE(1) - 4);
        if (!body) return null;
        const m = { type: String.fromCharCode(head[0]!), body: Buffer.from(body) };
        messages.push(m);
        return m;
      },
    };
    void (async () => {
      for (;;) {
        const len = await take(4);
        if (!len) return;
        const body = await take(len.readInt32BE(0) - 4);
        if (!body) return;
        if (body.readInt32BE(0) === 80877103) { s.write('N'); continue; }
        const parts = body.subarray(4).toString('utf8').split('\0');
        for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) conn.startup[parts[i]!] = parts[i + 1]!;
        break;
      }
      await trick(conn);
    })().catch(() => s.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve({
      port: typeof a === 'object' && a ? a.port : 0, messages, received: () => Buffer.concat(chunks), connections: () => count,
      close: () => { server.close(); for (const s of sockets) s.destroy(); },
    });
  }));
}
