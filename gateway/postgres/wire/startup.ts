// The untyped first message of a PostgreSQL connection: `int32 length, int32 code, ...`.
// SSLRequest, GSSENCRequest, CancelRequest, or a StartupMessage (protocol 3.0 or 3.2) with
// NUL-separated key/value parameters. Sans-I/O: give it bytes until it returns a result.
import { PgProtocolError } from './frames.js';

export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
export const PROTOCOL_3_0 = 196608;
export const PROTOCOL_3_2 = 196610;
const MAX_STARTUP = 10_000;

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; pid: number; key: Buffer }
  | { kind: 'startup'; version: number; params: Record<string, string> };

export class StartupReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Returns the packet once complete, with any bytes that followed it; null while incomplete. */
  push(chunk: Buffer): { packet: StartupPacket; rest: Buffer } | null {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length < 8) return null;
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > MAX_STARTUP) throw new PgProtocolError(`startup packet length ${len} outside 8..${MAX_STARTUP}`);
    if (this.buf.length < len) return null;
    const body = this.buf.subarray(4, len);
    const rest = this.buf.subarray(len);
    this.buf = Buffer.alloc(0);
    return { packet: parseStartup(body), rest };
  }
}

function parseStartup(body: Buffer): StartupPacket {
  const code = body.readInt32BE(0);
  if (code === SSL_REQUEST && body.length === 4) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST && body.length === 4) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST) {
    if (body.length < 12 || body.length > 4 + 4 + 256) throw new PgProtocolError('malformed CancelRequest');
    return { kind: 'cancel', pid: body.readInt32BE(4), key: Buffer.from(body.subarray(8)) };
  }
  if (code !== PROTOCOL_3_0 && code !== PROTOCOL_3_2) {
    throw new PgProtocolError(`unsupported frontend protocol ${code >> 16}.${code & 0xffff}: this gateway speaks 3.0 and 3.2`);
  }
  const params: Record<string, string> = {};
  const parts = body.subarray(4).toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] === '') break;
    if (Object.keys(params).length >= 64) throw new PgProtocolError('too many startup parameters');
    params[parts[i]!] = parts[i + 1]!;
  }
  return { kind: 'startup', version: code, params };
}
