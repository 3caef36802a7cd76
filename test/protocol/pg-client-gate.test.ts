// The PostgreSQL side of the gate, sans I/O: with gate rules configured, client commands are held
// until whole, checked, then forwarded byte-exact or answered with ErrorResponse 42501 (a simple
// query also gets its ReadyForQuery; an extended-protocol refusal drops everything up to Sync and
// lets the Sync through) — at every split point of the client stream.
import { describe, expect, it } from 'vitest';
import { PgClientGate } from '../../gateway/postgres/client-gate.js';
import { PgFrameReader } from '../../gateway/postgres/wire/frames.js';
import { readyForQuery } from '../../gateway/postgres/wire/server-messages.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';

const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
const Q = (sql: string): Buffer => msg('Q', cstr(sql));
const P = (name: string, sql: string): Buffer => msg('P', cstr(name), cstr(sql), int16(0));
const B = (portal: string, stmt: string): Buffer => msg('B', cstr(portal), cstr(stmt), int16(0), int16(0), int16(0));
const E = (portal: string): Buffer => msg('E', cstr(portal), int32(0));
const S = (): Buffer => msg('S');
const d = (bytes: number): Buffer => msg('d', Buffer.alloc(bytes, 0x41));

const deny = (cmd: GateCommand): GateVerdict =>
  cmd.kind === 'sql' && /drop/i.test(cmd.text) ? { verdict: 'deny', message: 'DROP is not allowed here', rule: 'test' } : { verdict: 'allow' };

function run(chunks: Buffer[]): { forwarded: Buffer; answers: Buffer[]; checked: string[] } {
  const forwarded: Buffer[] = [];
  const answers: Buffer[] = [];
  const checked: string[] = [];
  const gate = new PgClientGate({
    check: (cmd) => { if (cmd.kind === 'sql') checked.push(`${cmd.path}:${cmd.text}`); return deny(cmd); },
    forward: (b) => forwarded.push(Buffer.from(b)),
    // What the client is told, in the order refused (its place among the target's replies is
    // answer-order.ts's job, tested in pg-answer-order.test.ts).
    refuse: (type, error) => answers.push(type === 'Q' || type === 'F' ? Buffer.concat([error, readyForQuery('T')]) : error),
    logged: () => {},
  }, { maxMessage: 1 << 20, statementMax: 1 << 20 });
  for (const c of chunks) gate.push(c);
  return { forwarded: Buffer.concat(forwarded), answers, checked };
}

function types(bytes: Buffer): string[] {
  const out: string[] = [];
  new PgFrameReader((m) => out.push(m.type)).push(bytes);
  return out;
}

const allowed = [Q('select 1'), P('s1', 'select $1::int'), B('', 's1'), E(''), S(), d(70_000)];
const stream = Buffer.concat([
  allowed[0]!, Q('DROP TABLE orders'), allowed[1]!, allowed[2]!, allowed[3]!, allowed[4]!,
  P('', 'drop table t'), B('', ''), E(''), S(), allowed[5]!,
]);

describe('the PostgreSQL client gate', () => {
  it('forwards allowed messages byte-exact and answers denied ones in protocol words, at every split point', () => {
    const expected = Buffer.concat([allowed[0]!, allowed[1]!, allowed[2]!, allowed[3]!, allowed[4]!, S(), allowed[5]!]);
    for (let at = 0; at <= stream.length; at += at < 200 ? 1 : 997) {
      const r = run([stream.subarray(0, at), stream.subarray(at)]);
      expect(r.forwarded.equals(expected), `split at ${at}`).toBe(true);
      const said = Buffer.concat(r.answers);
      // Simple query: ErrorResponse then ReadyForQuery with the last status; extended: ErrorResponse only.
      expect(types(said)).toEqual(['E', 'Z', 'E']);
      expect(said.toString('latin1')).toContain('42501');
      expect(said.toString('latin1')).toContain('Portcullis: DROP is not allowed here');
      expect(r.checked).toEqual([
        'simple:select 1', 'simple:DROP TABLE orders', 'parse:select $1::int', 'bind:select $1::int', 'execute:select $1::int', 'parse:drop table t',
      ]);
    }
  });

  it('forwards byte at a time without loss', () => {
    const r = run([...stream].map((b) => Buffer.from([b])));
    expect(types(r.forwarded)).toEqual(['Q', 'P', 'B', 'E', 'S', 'S', 'd']);
  });

  it('lets the gate see the whole statement, not only the first 64 KB the statement log keeps', () => {
    const padded = `select 1; /*${' '.repeat(70_000)}*/ DROP TABLE orders`;
    for (const chunks of [[Q(padded)], [...Q(padded)].reduce<Buffer[]>((a, _b, i, all) => (i % 4096 === 0 ? [...a, Buffer.from(all.slice(i, i + 4096))] : a), [])]) {
      const r = run(chunks);
      expect(r.forwarded.length).toBe(0);
      expect(types(Buffer.concat(r.answers))).toEqual(['E', 'Z']);
    }
  });
});
