// A hand-built MySQL client that plays one login exchange and writes down every server packet of
// it, so the exchanges for different names can be compared byte for byte (stock clients print only
// the outcome). TLS, then a HandshakeResponse naming `plugin` with `answer` as its auth data, then
// whatever the server asks: an auth switch is answered with 20 bytes of junk, "perform full
// authentication" with a wrong cleartext password. The greeting's nonce is replaced by NONCE.
import { once } from 'node:events';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { CAP } from '../../gateway/mysql/wire/capabilities.js';
import { encodeHandshakeResponse, encodeSslRequest, parseGreeting } from '../../gateway/mysql/wire/handshake.js';
import { type MyPacket, MyPacketReader, packet } from '../../gateway/mysql/wire/packets.js';

const CAPS = CAP.LONG_PASSWORD | CAP.PROTOCOL_41 | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA | CAP.SSL | CAP.TRANSACTIONS;

export async function mysqlExchange(port: number, login: string, plugin: string, answer: 'empty' | 'junk'): Promise<string[]> {
  const raw = connect(port, '127.0.0.1');
  const packets: MyPacket[] = [];
  let wake: (() => void) | null = null;
  let reader = new MyPacketReader((p) => { packets.push(p); wake?.(); });
  let closed = false;
  const feed = (d: Buffer): void => reader.push(d);
  raw.on('data', feed);
  raw.on('close', () => { closed = true; wake?.(); });
  raw.on('error', () => {});
  const next = async (): Promise<MyPacket> => {
    while (packets.length === 0) {
      if (closed) throw new Error('closed');
      await new Promise<void>((r) => { wake = r; });
      wake = null;
    }
    return packets.shift()!;
  };
  const seen: string[] = [];
  try {
    const greeting = parseGreeting((await next()).head);
    const nonce = greeting.nonce.toString('latin1');
    const show = (p: MyPacket): string => `${p.seq} ${p.head.toString('latin1').replaceAll(nonce, 'NONCE')}`;
    raw.write(packet(1, encodeSslRequest(CAPS, 0, 45)));
    raw.off('data', feed);
    const tls = tlsConnect({ socket: raw, rejectUnauthorized: false });
    await once(tls, 'secureConnect');
    reader = new MyPacketReader((p) => { packets.push(p); wake?.(); });
    tls.on('data', (d: Buffer) => reader.push(d));
    tls.on('close', () => { closed = true; wake?.(); });
    tls.on('error', () => {});
    const data = answer === 'empty' ? Buffer.alloc(0) : Buffer.alloc(20, 7);
    tls.write(packet(2, encodeHandshakeResponse({ caps: CAPS, extCaps: 0, maxPacket: 1 << 24, charset: 45, user: login, authResponse: data, database: null, plugin })));
    for (let i = 0; i < 4; i++) {
      const p = await next().catch(() => null);
      if (!p) break;
      seen.push(show(p));
      const kind = p.head[0];
      if (kind === 0xfe) tls.write(packet(p.seq + 1, Buffer.alloc(20, 9)));
      else if (kind === 0x01 && p.head[1] === 0x04) tls.write(packet(p.seq + 1, Buffer.from('not-the-password\0')));
      else if (kind === 0x01 && p.head[1] === 0x03) continue;
      else break;
    }
    tls.destroy();
  } finally {
    raw.destroy();
  }
  return seen;
}
