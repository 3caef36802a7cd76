// The relay's framers hand heads over as views of the pushed chunk (no copy) and skip the bodies
// the statement log never reads (a server's DataRow, RowDescription): the messages, their lengths
// and every head the log reads are the same as a copying framer's, at every split point, with
// a head split across chunks still put together.
import { describe, expect, it } from 'vitest';
import { type PgMessage, PgFrameReader } from '../../gateway/postgres/wire/frames.js';
import { paramsJsonBound } from '../../recorder/statement-writer.js';

const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const msg = (type: string, body: Buffer): Buffer => Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
const server = Buffer.concat([
  msg('T', Buffer.alloc(40, 7)), msg('D', Buffer.alloc(300, 1)), msg('D', Buffer.alloc(5, 2)), msg('C', Buffer.from('SELECT 2\0')),
  msg('E', Buffer.from('SERROR\0C42P01\0Mno such table\0\0')), msg('V', int32(12)), msg('Z', Buffer.from('I')),
]);

function frame(stream: Buffer, cuts: number[], kept: ReadonlySet<string> | null, copy: boolean): Array<[string, number, string]> {
  const out: Array<[string, number, string]> = [];
  const r = new PgFrameReader((m: PgMessage) => out.push([m.type, m.length, m.head.toString('hex')]), 1 << 20, 64 * 1024, null, kept, copy);
  let from = 0;
  for (const at of [...cuts, stream.length]) { r.push(stream.subarray(from, at)); from = at; }
  return out;
}

describe('PostgreSQL framing for the relay (views, bodies skipped)', () => {
  const kept = new Set(['C', 'E', 'V']);
  const whole = frame(server, [], null, true);
  const expected = whole.map(([t, n, h]): [string, number, string] => [t, n, kept.has(t) ? h : '']);

  it('gives the same messages and the heads the log reads at every split point, and at every pair of them', () => {
    for (let at = 0; at <= server.length; at++) expect(frame(server, [at], kept, false)).toEqual(expected);
    for (let a = 0; a <= server.length; a += 7) for (let b = a; b <= server.length; b += 5) expect(frame(server, [a, b], kept, false)).toEqual(expected);
  });

  it('hands a head lying in one chunk over as a view of it, and copies none of a skipped body', () => {
    const heads: Buffer[] = [];
    new PgFrameReader((m) => heads.push(m.head), 1 << 20, 64 * 1024, null, kept, false).push(server);
    const c = heads[3]!;
    expect(c.buffer).toBe(server.buffer);
    expect(heads[1]!.length).toBe(0);
  });
});

describe('the statement writer\'s bound on parameter size', () => {
  it('is never below the real size of the parameters as JSON in UTF-8', () => {
    const samples = ['', 'a', '\u0000\u001f"\\', '€', '😀', '\ud800', 'x'.repeat(1000), '\n\t\b'.repeat(50), 'é😀\u0007'];
    for (const a of samples) for (const b of [...samples, null]) {
      const params = [a, b, null];
      expect(paramsJsonBound(params)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(params)));
    }
    expect(paramsJsonBound(undefined)).toBe(0);
  });
});
