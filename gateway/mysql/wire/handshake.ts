// The connection phase codecs: the server greeting (HandshakeV10, with MariaDB's extended
// capabilities in the reserved bytes), the client's HandshakeResponse41 and its short SSLRequest
// form, and their encoders for the gateway's two roles (server to clients, client to targets).
import { CAP, has } from './capabilities.js';
import { MyProtocolError, MyReader, lenenc, u16, u32 } from './packets.js';

export interface Greeting {
  serverVersion: string;
  connectionId: number;
  nonce: Buffer;
  caps: number;
  /** MariaDB extended capabilities (reserved bytes), when the server is MariaDB. */
  extCaps: number;
  charset: number;
  status: number;
  plugin: string;
}

export function parseGreeting(payload: Buffer): Greeting {
  const r = new MyReader(payload);
  const version = r.u8();
  if (version === 0xff) throw new MyProtocolError('server refused the connection');
  if (version !== 10) throw new MyProtocolError(`unsupported handshake version ${version}`);
  const serverVersion = r.cstring();
  const connectionId = r.u32();
  const part1 = Buffer.from(r.bytes(8));
  r.skip(1);
  let caps = r.u16();
  const charset = r.u8();
  const status = r.u16();
  caps |= r.u16() << 16;
  const authLen = r.u8();
  r.skip(6);
  const extCaps = r.u32();
  let nonce = part1;
  if (has(caps, CAP.SECURE_CONNECTION)) {
    const n = Math.max(13, authLen - 8);
    const part2 = r.bytes(Math.min(n, r.remaining));
    nonce = Buffer.concat([part1, part2.subarray(0, Math.max(0, n - 1))]);
  }
  const plugin = has(caps, CAP.PLUGIN_AUTH) && r.remaining > 0 ? r.cstring() : 'mysql_native_password';
  return { serverVersion, connectionId, nonce: nonce.subarray(0, 20), caps: caps >>> 0, extCaps: has(caps, CAP.LONG_PASSWORD) ? 0 : extCaps, charset, status, plugin };
}

export function encodeGreeting(g: Greeting): Buffer {
  const caps = g.caps >>> 0;
  return Buffer.concat([
    Buffer.from([10]), Buffer.from(g.serverVersion + '\0'), u32(g.connectionId), g.nonce.subarray(0, 8), Buffer.from([0]),
    u16(caps & 0xffff), Buffer.from([g.charset]), u16(g.status), u16(caps >>> 16), Buffer.from([21]), Buffer.alloc(6), u32(g.extCaps),
    g.nonce.subarray(8, 20), Buffer.from([0]), Buffer.from(g.plugin + '\0'),
  ]);
}

export interface HandshakeResponse {
  caps: number;
  extCaps: number;
  maxPacket: number;
  charset: number;
  user: string;
  authResponse: Buffer;
  database: string | null;
  plugin: string | null;
  /** True for the 32-byte SSLRequest that precedes a TLS upgrade. */
  sslRequest: boolean;
}

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new MyReader(payload);
  const caps = r.u32();
  if (!has(caps, CAP.PROTOCOL_41)) throw new MyProtocolError('clients older than protocol 4.1 are not supported');
  const maxPacket = r.u32();
  const charset = r.u8();
  r.skip(19);
  const extCaps = r.u32();
  if (r.remaining === 0) {
    return { caps, extCaps, maxPacket, charset, user: '', authResponse: Buffer.alloc(0), database: null, plugin: null, sslRequest: true };
  }
  const user = r.cstring();
  let authResponse: Buffer;
  if (has(caps, CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA)) authResponse = Buffer.from(r.lenencBytes() ?? Buffer.alloc(0));
  else if (has(caps, CAP.SECURE_CONNECTION)) authResponse = Buffer.from(r.bytes(r.u8()));
  else authResponse = Buffer.from(r.cstring());
  const database = has(caps, CAP.CONNECT_WITH_DB) && r.remaining > 0 ? r.cstring() : null;
  const plugin = has(caps, CAP.PLUGIN_AUTH) && r.remaining > 0 ? r.cstring() : null;
  return { caps, extCaps, maxPacket, charset, user, authResponse, database, plugin, sslRequest: false };
}

export function encodeSslRequest(caps: number, extCaps: number, charset: number): Buffer {
  return Buffer.concat([u32(caps), u32(0x1000000), Buffer.from([charset]), Buffer.alloc(19), u32(extCaps)]);
}

export function encodeHandshakeResponse(h: Omit<HandshakeResponse, 'sslRequest'>): Buffer {
  const parts = [u32(h.caps), u32(h.maxPacket), Buffer.from([h.charset]), Buffer.alloc(19), u32(h.extCaps), Buffer.from(h.user + '\0')];
  if (has(h.caps, CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA)) parts.push(lenenc(h.authResponse.length), h.authResponse);
  else parts.push(Buffer.from([h.authResponse.length]), h.authResponse);
  if (has(h.caps, CAP.CONNECT_WITH_DB)) parts.push(Buffer.from((h.database ?? '') + '\0'));
  if (has(h.caps, CAP.PLUGIN_AUTH)) parts.push(Buffer.from((h.plugin ?? 'mysql_native_password') + '\0'));
  return Buffer.concat(parts);
}
