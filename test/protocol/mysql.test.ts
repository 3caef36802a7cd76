import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MyStatementLog } from '../../gateway/mysql/statement-log.js';
import { CAP } from '../../gateway/mysql/wire/capabilities.js';
import { encodeGreeting, encodeHandshakeResponse, parseGreeting, parseHandshakeResponse } from '../../gateway/mysql/wire/handshake.js';
import { type MyPacket, MyPacketReader, MyProtocolError, MyReplyHeads, lenenc, packet } from '../../gateway/mysql/wire/packets.js';
import type { StatementRecord } from '../../recorder/statement-record.js';

const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const str = (s: string): Buffer => Buffer.concat([lenenc(Buffer.byteLength(s)), Buffer.from(s)]);
const ok = (seq: number, affected: number, status = 2): Buffer => packet(seq, Buffer.concat([Buffer.from([0]), lenenc(affected), lenenc(0), u16(status), u16(0)]));
const eof = (seq: number, status = 2): Buffer => packet(seq, Buffer.concat([Buffer.from([0xfe]), u16(0), u16(status)]));
const okEof = (seq: number, status = 2): Buffer => packet(seq, Buffer.concat([Buffer.from([0xfe, 0, 0]), u16(status), u16(0)]));
const err = (seq: number, code: number, state: string, msg: string): Buffer => packet(seq, Buffer.concat([Buffer.from([0xff]), u16(code), Buffer.from('#' + state + msg)]));
const col = (seq: number): Buffer => packet(seq, Buffer.concat([str('def'), str('shop'), str('t'), str('t'), str('c'), str('c'), Buffer.from([0x0c]), u16(45), u32(10), Buffer.from([3]), u16(0), Buffer.from([0, 0, 0])]));
const row = (seq: number, v: string): Buffer => packet(seq, str(v));
const cmd = (code: number, body: Buffer): Buffer => packet(0, Buffer.concat([Buffer.from([code]), body]));
const MORE = 0x0008 | 2;

type Side = 'client' | 'server';

function conversation(deprecateEof: boolean): Array<[Side, Buffer]> {
  const end = (seq: number, status = 2): Buffer => (deprecateEof ? okEof(seq, status) : eof(seq, status));
  let s = 0;
  const seq = (): number => ++s;
  const reset = (): void => { s = 0; };
  const out: Array<[Side, Buffer]> = [];
  // A result set of 3 rows.
  reset(); out.push(['client', cmd(0x03, Buffer.from('select c from t'))]);
  out.push(['server', Buffer.concat([packet(seq(), Buffer.from([1])), col(seq()), ...(deprecateEof ? [] : [eof(seq())]), row(seq(), 'a'), row(seq(), 'b'), row(seq(), 'c'), end(seq())])]);
  // An update: OK with 5 affected rows.
  reset(); out.push(['client', cmd(0x03, Buffer.from('update t set c = 1'))]); out.push(['server', ok(seq(), 5)]);
  // Multi-statement: OK (more results), then a result set with one row.
  reset(); out.push(['client', cmd(0x03, Buffer.from('insert into t values (1); select 1'))]);
  out.push(['server', Buffer.concat([ok(seq(), 1, MORE), packet(seq(), Buffer.from([1])), col(seq()), ...(deprecateEof ? [] : [eof(seq())]), row(seq(), '1'), end(seq())])]);
  // COM_INIT_DB (a client's "USE"), answered with OK.
  reset(); out.push(['client', cmd(0x02, Buffer.from('shop'))]); out.push(['server', ok(seq(), 0)]);
  // An error.
  reset(); out.push(['client', cmd(0x03, Buffer.from('select * from nope'))]); out.push(['server', err(seq(), 1146, '42S02', "Table 'shop.nope' doesn't exist")]);
  // Prepare with 2 params and 1 column, then execute with (7, 'x').
  reset(); out.push(['client', cmd(0x16, Buffer.from('select c from t where a = ? and b = ?'))]);
  out.push(['server', Buffer.concat([packet(seq(), Buffer.concat([Buffer.from([0]), u32(9), u16(1), u16(2), Buffer.from([0]), u16(0)])), col(seq()), col(seq()), ...(deprecateEof ? [] : [eof(seq())]), col(seq()), ...(deprecateEof ? [] : [eof(seq())])])]);
  const seven = Buffer.alloc(8);
  seven.writeBigInt64LE(7n);
  // stmt id, flags, iteration count, NULL bitmap, new-params-bound, types (LONGLONG, VAR_STRING), values.
  reset(); out.push(['client', cmd(0x17, Buffer.concat([u32(9), Buffer.from([0]), u32(1), Buffer.from([0]), Buffer.from([1]), u16(0x08), u16(0xfd), seven, str('x')]))]);
  out.push(['server', Buffer.concat([packet(seq(), Buffer.from([1])), col(seq()), ...(deprecateEof ? [] : [eof(seq())]), packet(seq(), Buffer.from([0, 0, 1, 0x61])), end(seq())])]);
  return out;
}

type Recorded = Omit<StatementRecord, 't' | 'duration_ms'>;

function records(timeline: Array<[Side, Buffer]>, caps: number, split?: { side: Side; at: number }): Recorded[] {
  const got: StatementRecord[] = [];
  const log = new MyStatementLog(() => caps, () => 0, (r) => got.push(r));
  // The server side as the relay reads it: heads only, views of the chunk (after it was forwarded).
  const readers = { client: new MyPacketReader((p: MyPacket) => log.command(p)), server: new MyReplyHeads((length, buf, start, end) => log.replyAt(length, buf, start, end)) };
  const offset = { client: 0, server: 0 };
  for (const [side, bytes] of timeline) {
    const start = offset[side];
    offset[side] += bytes.length;
    if (split && split.side === side && split.at > start && split.at < start + bytes.length) {
      readers[side].push(bytes.subarray(0, split.at - start));
      readers[side].push(bytes.subarray(split.at - start));
    } else readers[side].push(bytes);
  }
  return got.map(({ t: _t, duration_ms: _d, ...rest }) => rest);
}

// Every field of the one statement schema (the same as PostgreSQL's), so a change to it shows here.
const my = (r: Partial<Recorded> & Pick<Recorded, 'sql' | 'path'>): Recorded => ({ v: 1, protocol: 'mysql', rows_returned: null, rows_affected: null, error: null, ...r });
const want: Recorded[] = [
  my({ sql: 'select c from t', path: 'simple', rows_returned: 3 }),
  my({ sql: 'update t set c = 1', path: 'simple', rows_affected: 5 }),
  my({ sql: 'insert into t values (1); select 1', path: 'simple', rows_affected: 1 }),
  my({ sql: 'insert into t values (1); select 1', path: 'simple', rows_returned: 1 }),
  my({ sql: 'USE `shop`', path: 'init-db', rows_affected: 0 }),
  my({ sql: 'select * from nope', path: 'simple', error: { sqlstate: '42S02', code: 1146, message: "Table 'shop.nope' doesn't exist" } }),
  my({ sql: 'select c from t where a = ? and b = ?', path: 'prepared', statement: '9', params: ['7', 'x'], rows_returned: 1 }),
];

describe('the MySQL statement log', () => {
  for (const deprecateEof of [false, true]) {
    const caps = CAP.PROTOCOL_41 | (deprecateEof ? CAP.DEPRECATE_EOF : 0);
    it(`records queries, multi-results, errors and prepared executions (${deprecateEof ? 'OK' : 'EOF'} terminators), at every split point`, () => {
      const timeline = conversation(deprecateEof);
      expect(records(timeline, caps)).toEqual(want);
      for (const side of ['client', 'server'] as const) {
        const total = timeline.filter(([s]) => s === side).reduce((n, [, b]) => n + b.length, 0);
        for (let at = 1; at < total; at++) expect(records(timeline, caps, { side, at }), `${side} at ${at}`).toEqual(want);
      }
    });
  }
});

describe('a reply of 16 MiB or more (several wire packets)', () => {
  // One row of 0xffffff + 5 bytes: its continuation packet (5 bytes) is shaped like an EOF. Read
  // as a reply of its own it would end the result after one row, hiding the rows after it.
  const L = 0xffffff + 5;
  const big = Buffer.alloc(L, 0x61);
  big[0] = 0xfe;
  big.writeBigUInt64LE(BigInt(L - 9), 1);
  Buffer.from([0xfe, 0, 0, 2, 0]).copy(big, L - 5);
  const bigRow = (seq: number): Buffer => Buffer.concat([packet(seq, big.subarray(0, 0xffffff)), packet(seq + 1, big.subarray(0xffffff))]);

  it('the reply heads report the first wire packet and skip its continuation, however it is split', () => {
    const stream = Buffer.concat([bigRow(0), packet(2, Buffer.from([0x01]))]);
    const cuts = [1, 3, 4, 5, 100, 4 + 0xffffff - 1, 4 + 0xffffff, 4 + 0xffffff + 1, 4 + 0xffffff + 4, 4 + 0xffffff + 5, stream.length - 2];
    for (const at of [0, ...cuts]) {
      const got: Array<[number, string]> = [];
      const r = new MyReplyHeads((length, buf, start, end) => got.push([length, buf.toString('hex', start, Math.min(end, start + 2))]));
      if (at === 0) r.push(stream);
      else { r.push(stream.subarray(0, at)); r.push(stream.subarray(at)); }
      expect(r.atBoundary).toBe(true);
      expect(got, `at ${at}`).toEqual([[0xffffff, 'fefb'], [1, '01']]);
    }
  });

  for (const deprecateEof of [false, true]) {
    it(`counts every row of a result holding one (${deprecateEof ? 'OK' : 'EOF'} terminators)`, () => {
      const caps = CAP.PROTOCOL_41 | (deprecateEof ? CAP.DEPRECATE_EOF : 0);
      const end = deprecateEof ? okEof(7) : eof(7);
      const reply = Buffer.concat([packet(1, Buffer.from([1])), col(2), ...(deprecateEof ? [] : [eof(3)]), bigRow(4), row(6, 'b'), end]);
      const timeline: Array<[Side, Buffer]> = [['client', cmd(0x03, Buffer.from('select c from t'))], ['server', reply]];
      expect(records(timeline, caps)).toEqual([my({ sql: 'select c from t', path: 'simple', rows_returned: 2 })]);
    });
  }
});

describe('MySQL framing and handshake codecs', () => {
  it('refuses packets over the limit', () => {
    expect(() => new MyPacketReader(() => {}, 1000).push(Buffer.from([0xff, 0xff, 0xff, 0]))).toThrowError(MyProtocolError);
    expect(() => new MyReplyHeads(() => {}, 1000).push(Buffer.from([0xff, 0xff, 0xff, 0]))).toThrowError(MyProtocolError);
    const split = new MyReplyHeads(() => {}, 1000);
    split.push(Buffer.from([0xff, 0xff]));
    expect(() => split.push(Buffer.from([0xff, 0]))).toThrowError(MyProtocolError);
  });

  it('reads reply heads (length, the first REPLY_HEAD bytes, an ERR packet whole) at every split point and in every chunking', () => {
    const err = Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from('#42S02'), Buffer.from('x'.repeat(300))]);
    const payloads = [Buffer.alloc(0), Buffer.from([0x00, 0xfc, 0x10, 0x27, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 2, 0, 0, 0]), err, Buffer.alloc(5000, 0x41),
      Buffer.from([0xfe, 0, 0, 2, 0]), Buffer.from([0x01]), Buffer.alloc(40, 0x03)];
    const stream = Buffer.concat(payloads.map((p, i) => packet(i, p)));
    // What the log reads of each packet: its length, the first REPLY_HEAD bytes, or an ERR packet's whole.
    const want = payloads.map((p) => [p.length, p.subarray(0, p[0] === 0xff ? p.length : 32).toString('hex')]);
    const read = (chunks: Buffer[]): unknown[] => {
      const got: unknown[] = [];
      const r = new MyReplyHeads((length, buf, start, end) => got.push([length, buf.toString('hex', start, end)]));
      for (const c of chunks) r.push(c);
      expect(r.atBoundary).toBe(true);
      return got;
    };
    expect(read([stream])).toEqual(want);
    for (let at = 1; at < stream.length; at++) expect(read([stream.subarray(0, at), stream.subarray(at)]), `at ${at}`).toEqual(want);
    for (const size of [1, 2, 3, 4, 5, 7, 31, 33]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      expect(read(chunks), `chunks of ${size}`).toEqual(want);
    }
  });

  it('round-trips a greeting and a handshake response', () => {
    const g = { serverVersion: '10.11.19-MariaDB', connectionId: 77, nonce: Buffer.from('abcdefghijklmnopqrst'), caps: 0x81fff7fe | CAP.PLUGIN_AUTH | CAP.SECURE_CONNECTION, extCaps: 0x1d, charset: 45, status: 2, plugin: 'caching_sha2_password' };
    const parsed = parseGreeting(encodeGreeting(g));
    expect(parsed).toMatchObject({ serverVersion: g.serverVersion, connectionId: 77, plugin: 'caching_sha2_password', extCaps: 0x1d });
    expect(parsed.nonce.equals(g.nonce)).toBe(true);
    const caps = CAP.PROTOCOL_41 | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA | CAP.CONNECT_WITH_DB;
    const resp = parseHandshakeResponse(encodeHandshakeResponse({ caps, extCaps: 4, maxPacket: 1 << 24, charset: 45, user: 'dba+shop-db', authResponse: Buffer.alloc(32, 7), database: 'shop', plugin: 'caching_sha2_password' }));
    expect(resp).toMatchObject({ user: 'dba+shop-db', database: 'shop', plugin: 'caching_sha2_password', sslRequest: false, extCaps: 4 });
    expect(resp.authResponse.length).toBe(32);
  });

  it('never throws anything but a protocol error on arbitrary bytes', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), fc.boolean(), (chunks, deprecate) => {
      const log = new MyStatementLog(() => (deprecate ? CAP.DEPRECATE_EOF : 0), () => 0, () => {});
      const r = new MyPacketReader((p) => { try { log.command(p); log.reply(p); } catch (e) { expect(e).toBeInstanceOf(MyProtocolError); } }, 1 << 20);
      const heads = new MyReplyHeads((length, buf, start, end) => { try { log.replyAt(length, buf, start, end); } catch (e) { expect(e).toBeInstanceOf(MyProtocolError); } }, 1 << 20);
      for (const reader of [r, heads]) {
        try {
          for (const ch of chunks) reader.push(Buffer.from(ch));
        } catch (e) {
          expect(e).toBeInstanceOf(MyProtocolError);
        }
      }
      try { parseHandshakeResponse(Buffer.concat(chunks.map((c) => Buffer.from(c)))); } catch (e) { expect(e).toBeInstanceOf(MyProtocolError); }
    }), { numRuns: 3000 });
  });
});
