// A bare MySQL caching_sha2_password login over TLS, from a chosen source address: greeting,
// SSLRequest, TLS, HandshakeResponse, and the password itself when the server asks for full
// authentication. Hand-built because a flood needs bytes at a rate (hundreds of logins a second
// from one process) and a source address per login, which stock clients do not give cheaply.
// It reports what the server answered; it never relays anything.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { CAP } from '../../gateway/mysql/wire/capabilities.js';
import { encodeHandshakeResponse, encodeSslRequest } from '../../gateway/mysql/wire/handshake.js';
import { MyPacketReader, packet, parseErr, type MyPacket } from '../../gateway/mysql/wire/packets.js';

export interface BogusLogin {
  host: string;
  port: number;
  /** USER+TARGET as the client sends it. */
  user: string;
  password: string;
  localAddress?: string;
  timeoutMs?: number;
}

export type BogusOutcome =
  | { kind: 'ok' }
  | { kind: 'refused'; code: number; message: string; ms: number }
  | { kind: 'error'; message: string; ms: number };

const CAPS = CAP.LONG_PASSWORD | CAP.PROTOCOL_41 | CAP.SSL | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;

/** One login; resolves with the server's answer (never rejects). */
export function bogusMysqlLogin(o: BogusLogin): Promise<BogusOutcome> {
  const started = performance.now();
  const ms = (): number => performance.now() - started;
  return new Promise((resolve) => {
    let socket: Socket = tcpConnect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    let done = false;
    const finish = (r: BogusOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'error', message: 'timeout', ms: ms() }), o.timeoutMs ?? 15_000);
    let step = 0;
    const onPacket = (p: MyPacket): void => {
      if (p.head[0] === 0xff) {
        const e = parseErr(p.head);
        return finish({ kind: 'refused', code: e.code, message: e.message, ms: ms() });
      }
      if (step === 0) {
        // The greeting: ask for TLS, then log in inside it.
        step = 1;
        socket.write(packet(1, encodeSslRequest(CAPS, 0, 45)));
        const raw = socket;
        raw.removeAllListeners('data');
        socket = tlsConnect({ socket: raw, rejectUnauthorized: false });
        socket.on('error', (e: Error) => finish({ kind: 'error', message: e.message, ms: ms() }));
        socket.on('data', (d: Buffer) => reader.push(d));
        socket.once('secureConnect', () => {
          socket.write(packet(2, encodeHandshakeResponse({
            caps: CAPS, extCaps: 0, maxPacket: 0x1000000, charset: 45, user: o.user, authResponse: Buffer.alloc(32, 1),
            database: null, plugin: 'caching_sha2_password',
          })));
        });
      } else if (p.head[0] === 0x01 && p.head[1] === 0x04) {
        socket.write(packet(p.seq + 1, Buffer.from(o.password + '\0')));
      } else if (p.head[0] === 0x00) {
        finish({ kind: 'ok' });
      } else if (p.head[0] === 0xfe) {
        // An auth switch back to caching_sha2 with the same nonce: answer with a scramble again.
        socket.write(packet(p.seq + 1, Buffer.alloc(32, 1)));
      }
    };
    const reader = new MyPacketReader(onPacket, 1 << 20);
    socket.on('error', (e: Error) => finish({ kind: 'error', message: e.message, ms: ms() }));
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('close', () => finish({ kind: 'error', message: 'closed', ms: ms() }));
  });
}

/**
 * Sends logins at `perSecond` until `stop` resolves, each from `source(i)`; at most `maxInFlight`
 * open at once (past it a tick's logins are skipped and counted). Resolves with what came back.
 */
export async function floodMysqlLogins(o: Omit<BogusLogin, 'user' | 'localAddress'> & {
  perSecond: number; user: (i: number) => string; source?: (i: number) => string | undefined; stop: Promise<void>; maxInFlight?: number;
}): Promise<{ sent: number; skipped: number; outcomes: Map<string, number>; refusals: Map<number, number> }> {
  const outcomes = new Map<string, number>();
  const refusals = new Map<number, number>();
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let skipped = 0;
  let stopped = false;
  void o.stop.then(() => { stopped = true; });
  const t0 = performance.now();
  while (!stopped) {
    const due = Math.floor(((performance.now() - t0) / 1000) * o.perSecond);
    while (sent + skipped < due) {
      const i = sent + skipped;
      if (pending.size >= (o.maxInFlight ?? 2000)) { skipped++; continue; }
      sent++;
      const src = o.source?.(i);
      const p = bogusMysqlLogin({ ...o, user: o.user(i), ...(src ? { localAddress: src } : {}) }).then((r) => {
        const key = r.kind === 'error' ? `error: ${r.message.slice(0, 40)}` : r.kind;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        if (r.kind === 'refused') refusals.set(r.code, (refusals.get(r.code) ?? 0) + 1);
        pending.delete(p);
      });
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(pending);
  return { sent, skipped, outcomes, refusals };
}
