// The client framer keeps statement text whole (Query, Parse, Bind's parameters) up to the statement cap while other
// messages keep only their head, and refuses a statement over the cap as soon as its length is
// read: at every split point of the stream, with a small head limit and cap so every case is short.
import { describe, expect, it } from 'vitest';
import { StatementLog } from '../../gateway/postgres/statement-log.js';
import { type PgMessage, PgFrameReader, PgStatementTooLarge } from '../../gateway/postgres/wire/frames.js';
import type { StatementRecord } from '../../recorder/statement-record.js';

const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
const Q = (sql: string): Buffer => msg('Q', cstr(sql));
const P = (name: string, sql: string): Buffer => msg('P', cstr(name), cstr(sql), int16(0));
const B = (param: string): Buffer => msg('B', cstr(''), cstr('s'), int16(0), int16(1), int32(param.length), Buffer.from(param), int16(0));

const HEAD = 8;
const CAP = 100;
const padded = (n: number, verb: string): string => `/*${'x'.repeat(n - verb.length - 4)}*/${verb}`;

/** Every message and the text a statement log records from them, with the stream cut at `at`. */
function frame(stream: Buffer, at: number): { messages: Array<[string, number, number]>; sql: string[]; error: unknown } {
  const messages: Array<[string, number, number]> = [];
  const records: StatementRecord[] = [];
  const log = new StatementLog(() => 0, (r) => records.push(r));
  const r = new PgFrameReader((m: PgMessage) => { messages.push([m.type, m.length, m.head.length]); log.fromClient(m); }, 1 << 20, HEAD, CAP);
  let error: unknown = null;
  try {
    r.push(stream.subarray(0, at));
    r.push(stream.subarray(at));
  } catch (e) {
    error = e;
  }
  // Complete each statement with a server answer, so the log records it.
  for (const [type] of messages) {
    if (type === 'Q') { log.fromServer({ type: 'C', length: 9, head: cstr('UPDATE 1') }); log.fromServer({ type: 'Z', length: 1, head: Buffer.from('I') }); }
  }
  return { messages, sql: records.map((x) => x.sql), error };
}

describe('PostgreSQL statement framing', () => {
  it('keeps Query, Parse and Bind whole up to the cap (and only heads of other messages) at every split point', () => {
    const q = padded(CAP, 'UPDATE t');
    const p = padded(CAP - 3, 'DELETE');
    const bind = B('y'.repeat(40));
    const copy = msg('d', Buffer.from('z'.repeat(40)));
    const stream = Buffer.concat([Q(q), P('s', p), bind, copy]);
    for (let at = 1; at < stream.length; at++) {
      const got = frame(stream, at);
      expect(got.error, `at ${at}`).toBeNull();
      expect(got.messages, `at ${at}`).toEqual([['Q', CAP + 1, CAP + 1], ['P', p.length + 5, p.length + 5], ['B', bind.length - 5, bind.length - 5], ['d', 40, HEAD]]);
      expect(got.sql, `at ${at}`).toEqual([q]);
    }
  });

  it('refuses a Query over the cap when its length is read, after delivering what came before it, at every split point', () => {
    const ok = Q('select 1');
    const big = Q(padded(CAP + 1, 'UPDATE t'));
    const stream = Buffer.concat([ok, big, Q('select 2')]);
    for (let at = 1; at < stream.length; at++) {
      const got = frame(stream, at);
      expect(got.messages.map(([t]) => t), `at ${at}`).toEqual(['Q']);
      expect(got.error, `at ${at}`).toBeInstanceOf(PgStatementTooLarge);
      const e = got.error as PgStatementTooLarge;
      expect([e.messageType, e.textBytes, e.limit, e.bodyBytes]).toEqual(['Q', CAP + 1, CAP, CAP + 2]);
      // The body starts right after the header, in whichever chunk the header ended.
      const headerEnd = ok.length + 5;
      expect(e.bodyStart, `at ${at}`).toBe(at >= headerEnd ? headerEnd : headerEnd - at);
    }
  });

  it('counts Parse text with its minimal overhead: the cap itself passes, one byte more is refused', () => {
    expect(frame(P('', 'x'.repeat(CAP)), 3).error).toBeNull();
    expect(frame(P('', 'x'.repeat(CAP + 1)), 3).error).toBeInstanceOf(PgStatementTooLarge);
    expect(frame(Q('x'.repeat(CAP)), 3).error).toBeNull();
    expect(frame(Q('x'.repeat(CAP + 1)), 3).error).toBeInstanceOf(PgStatementTooLarge);
  });

  it('keeps a FunctionCall whole up to the cap (its arguments may be SQL) and refuses a longer one', () => {
    const F = (arg: string): Buffer => msg('F', int32(2924), int16(0), int16(1), int32(arg.length), Buffer.from(arg), int16(0));
    const fits = F('a'.repeat(CAP - 4));
    for (let at = 1; at < fits.length; at++) {
      const got = frame(fits, at);
      expect(got.error, `at ${at}`).toBeNull();
      expect(got.messages, `at ${at}`).toEqual([['F', fits.length - 5, fits.length - 5]]);
    }
    const over = frame(F('a'.repeat(CAP - 3)), 3).error;
    expect(over).toBeInstanceOf(PgStatementTooLarge);
    expect((over as PgStatementTooLarge).messageType).toBe('F');
  });

  it('keeps only heads without a cap (the server stream)', () => {
    const got: PgMessage[] = [];
    new PgFrameReader((m) => got.push(m), 1 << 20, HEAD).push(Q('x'.repeat(CAP * 3)));
    expect(got[0]!.head.length).toBe(HEAD);
  });
});
