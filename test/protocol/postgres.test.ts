import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type DecoyScramKeys, LoginDecoys } from '../../gateway/access/login-decoys.js';
import { makeScramVerifier, parseScramVerifier } from '../../gateway/access/scram-verifier.js';
import { StatementLog } from '../../gateway/postgres/statement-log.js';
import { type PgMessage, PgFrameReader, PgProtocolError } from '../../gateway/postgres/wire/frames.js';
import { ScramClient, ScramServer } from '../../gateway/postgres/wire/scram.js';
import { StartupReader } from '../../gateway/postgres/wire/startup.js';
import type { StatementRecord } from '../../recorder/statement-record.js';

const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };

// Client → server
const Q = (sql: string): Buffer => msg('Q', cstr(sql));
const P = (name: string, sql: string): Buffer => msg('P', cstr(name), cstr(sql), int16(0));
const B = (portal: string, stmt: string, params: Array<string | null>): Buffer =>
  msg('B', cstr(portal), cstr(stmt), int16(0), int16(params.length), ...params.map((p) => (p === null ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(p)), Buffer.from(p)]))), int16(0));
const E = (portal: string): Buffer => msg('E', cstr(portal), int32(0));
const S = (): Buffer => msg('S');
const d = (bytes: number): Buffer => msg('d', Buffer.alloc(bytes, 0x41));
const c = (): Buffer => msg('c');
const F = (oid: number, arg: string): Buffer => msg('F', int32(oid), int16(1), int16(0), int16(1), int32(Buffer.byteLength(arg)), Buffer.from(arg), int16(0));
// Server → client
const C = (tag: string): Buffer => msg('C', cstr(tag));
const Z = (): Buffer => msg('Z', Buffer.from('I'));
const DR = (): Buffer => msg('D', int16(1), int32(1), Buffer.from('x'));
const ERR = (code: string, text: string): Buffer => msg('E', Buffer.from('S'), cstr('ERROR'), Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(text), Buffer.from([0]));
const one = (): Buffer => msg('1');
const two = (): Buffer => msg('2');
const G = (): Buffer => msg('G', Buffer.from([0]), int16(0));
const H = (): Buffer => msg('H', Buffer.from([0]), int16(0));
const V = (): Buffer => msg('V', int32(1), Buffer.from('t'));

type Side = 'client' | 'server';

type Recorded = Omit<StatementRecord, 't' | 'duration_ms'>;

/** A conversation in causal order, fed to a StatementLog with the given chunking of each side. */
function records(timeline: Array<[Side, Buffer]>, split?: { side: Side; at: number }): Recorded[] {
  const out: StatementRecord[] = [];
  const log = new StatementLog(() => 0, (r) => out.push(r));
  const readers = { client: new PgFrameReader((m) => log.fromClient(m)), server: new PgFrameReader((m) => log.fromServer(m)) };
  const offset = { client: 0, server: 0 };
  for (const [side, bytes] of timeline) {
    const start = offset[side];
    offset[side] += bytes.length;
    if (split && split.side === side && split.at > start && split.at < start + bytes.length) {
      readers[side].push(bytes.subarray(0, split.at - start));
      readers[side].push(bytes.subarray(split.at - start));
    } else readers[side].push(bytes);
  }
  return out.map(({ t: _t, duration_ms: _d, ...rest }) => rest);
}

const conversation: Array<[Side, Buffer]> = [
  // Simple query with two statements, rows returned.
  ['client', Q('select 1; insert into t values (1)')], ['server', Buffer.concat([DR(), C('SELECT 1'), C('INSERT 0 1'), Z()])],
  // Pipelined extended protocol, as drivers send it: named statement, executed twice.
  ['client', Buffer.concat([P('s1', 'select $1::int'), B('', 's1', ['7']), E(''), S()])],
  ['server', Buffer.concat([one(), two(), DR(), C('SELECT 1'), Z()])],
  ['client', Buffer.concat([B('', 's1', [null]), E(''), S()])], ['server', Buffer.concat([two(), DR(), C('SELECT 1'), Z()])],
  // An error at Execute skips the rest until Sync.
  ['client', Buffer.concat([P('', 'select 1/$1'), B('', '', ['0']), E(''), P('', 'select 2'), B('', '', []), E(''), S()])],
  ['server', Buffer.concat([one(), two(), ERR('22012', 'division by zero'), Z()])],
  // COPY in and out in simple protocol.
  ['client', Q('copy t from stdin')], ['server', G()], ['client', Buffer.concat([d(1000), d(500), c()])], ['server', Buffer.concat([C('COPY 3'), Z()])],
  ['client', Q('copy t to stdout')], ['server', Buffer.concat([H(), d(300), d(300), msg('c'), C('COPY 2'), Z()])],
  // CREATE TABLE AS answers "SELECT n" without sending rows: rows written, not returned.
  ['client', Q('create table u as select * from t')], ['server', Buffer.concat([C('SELECT 5'), Z()])],
  // INSERT … RETURNING both affects and returns rows.
  ['client', Q('insert into t values (2) returning c')], ['server', Buffer.concat([DR(), C('INSERT 0 1'), Z()])],
  // A FunctionCall (no SQL text) of a built-in the gateway names, then one of a user's function that fails.
  ['client', F(2078, 'x')], ['server', Buffer.concat([V(), Z()])],
  ['client', F(16390, 'y')], ['server', Buffer.concat([ERR('42883', 'function does not exist'), Z()])],
];

// Every field of the one statement schema, so a change to it shows here.
const pg = (r: Partial<Recorded> & Pick<Recorded, 'sql' | 'path'>): Recorded => ({ v: 1, protocol: 'postgres', rows_returned: null, rows_affected: null, error: null, ...r });
const want: Recorded[] = [
  pg({ sql: 'select 1; insert into t values (1)', path: 'simple', command: 'SELECT 1', rows_returned: 1 }),
  pg({ sql: 'select 1; insert into t values (1)', path: 'simple', command: 'INSERT 0 1', rows_affected: 1 }),
  pg({ sql: 'select $1::int', path: 'extended', statement: 's1', portal: '', params: ['7'], command: 'SELECT 1', rows_returned: 1 }),
  pg({ sql: 'select $1::int', path: 'extended', statement: 's1', portal: '', params: [null], command: 'SELECT 1', rows_returned: 1 }),
  pg({ sql: 'select 1/$1', path: 'extended', statement: '', portal: '', params: ['0'], error: { sqlstate: '22012', code: null, message: 'division by zero' } }),
  pg({ sql: 'copy t from stdin', path: 'simple', command: 'COPY 3', rows_affected: 3, copy: { direction: 'in', bytes: 1500 } }),
  pg({ sql: 'copy t to stdout', path: 'simple', command: 'COPY 2', rows_returned: 2, copy: { direction: 'out', bytes: 600 } }),
  pg({ sql: 'create table u as select * from t', path: 'simple', command: 'SELECT 5', rows_affected: 5 }),
  pg({ sql: 'insert into t values (2) returning c', path: 'simple', command: 'INSERT 0 1', rows_returned: 1, rows_affected: 1 }),
  pg({ sql: "/* FunctionCall, oid 2078 */ SELECT pg_catalog.set_config('x')", path: 'function-call', params: ['x'], function_oid: 2078,
    function_name: 'set_config(text, text, boolean)', result_bytes: 1 }),
  pg({ sql: "/* FunctionCall, oid 16390 (a function created on the target: SELECT 16390::regprocedure names it) */ SELECT <oid 16390>('y')",
    path: 'function-call', params: ['y'], function_oid: 16390, error: { sqlstate: '42883', code: null, message: 'function does not exist' } }),
];

describe('the statement log', () => {
  it('records simple, pipelined extended, failed, COPY and function-call statements in the one schema', () => {
    expect(records(conversation)).toEqual(want);
  });

  it('gives the same records at every split point of either stream', () => {
    for (const side of ['client', 'server'] as const) {
      const total = conversation.filter(([s]) => s === side).reduce((n, [, b]) => n + b.length, 0);
      for (let at = 1; at < total; at++) expect(records(conversation, { side, at }), `${side} at ${at}`).toEqual(want);
    }
  });
});

describe('PostgreSQL framing', () => {
  it('frames messages across every split point and keeps only heads of large ones', () => {
    const big = msg('D', Buffer.alloc(200_000, 1));
    const stream = Buffer.concat([Q('select 1'), big, C('SELECT 1')]);
    for (let at = 1; at < stream.length; at += at < 100 ? 1 : 997) {
      const got: PgMessage[] = [];
      const r = new PgFrameReader((m) => got.push(m));
      r.push(stream.subarray(0, at));
      r.push(stream.subarray(at));
      expect(got.map((m) => [m.type, m.length])).toEqual([['Q', 9], ['D', 200_000], ['C', 9]]);
      expect(got[1]!.head.length).toBe(64 * 1024);
      expect(r.atBoundary).toBe(true);
    }
  });

  it('refuses lengths under 4 and over the limit', () => {
    expect(() => new PgFrameReader(() => {}).push(Buffer.from([0x51, 0, 0, 0, 3]))).toThrowError(PgProtocolError);
    expect(() => new PgFrameReader(() => {}, 1000).push(msg('Q', Buffer.alloc(2000)))).toThrowError(/outside/);
  });

  it('never throws anything but a protocol error on arbitrary bytes', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), (chunks) => {
      const log = new StatementLog(() => 0, () => {});
      const r = new PgFrameReader((m) => { log.fromClient(m); log.fromServer(m); }, 1 << 20);
      try {
        for (const ch of chunks) r.push(Buffer.from(ch));
      } catch (e) {
        expect(e).toBeInstanceOf(PgProtocolError);
      }
    }), { numRuns: 3000 });
  });
});

describe('startup packets', () => {
  const sslRequest = Buffer.concat([int32(8), int32(80877103)]);
  const startup = (() => { const body = Buffer.concat([int32(196608), cstr('user'), cstr('dba+orders-db'), cstr('database'), cstr('orders'), Buffer.from([0])]); return Buffer.concat([int32(body.length + 4), body]); })();

  it('reads SSLRequest, StartupMessage and CancelRequest at every split point', () => {
    for (const [bytes, kind] of [[sslRequest, 'ssl'], [startup, 'startup'], [Buffer.concat([int32(16), int32(80877102), int32(1234), int32(5678)]), 'cancel']] as const) {
      for (let at = 1; at < bytes.length; at++) {
        const r = new StartupReader();
        expect(r.push(bytes.subarray(0, at))).toBeNull();
        expect(r.push(bytes.subarray(at))?.packet.kind).toBe(kind);
      }
    }
    const got = new StartupReader().push(startup)!;
    expect(got.packet).toEqual({ kind: 'startup', version: 196608, params: { user: 'dba+orders-db', database: 'orders' } });
  });

  it('refuses absurd lengths and unknown protocol versions', () => {
    expect(() => new StartupReader().push(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]))).toThrowError(/startup packet length/);
    expect(() => new StartupReader().push(Buffer.concat([int32(8), int32(0x00050000)]))).toThrowError(/unsupported frontend protocol 5\.0/);
  });
});

describe('SCRAM-SHA-256', () => {
  const decoys = new LoginDecoys(randomBytes(32));
  const exchange = async (password: string, verifierFor: string | null): Promise<{ ok: boolean; clientVerified: boolean }> => {
    const server = new ScramServer(verifierFor === null ? decoys.scramKeys('nobody') : parseScramVerifier(await makeScramVerifier(verifierFor, 4096))!);
    const client = new ScramClient(password);
    const serverFirst = server.first(client.first());
    const result = server.final(client.final(serverFirst));
    return { ok: result.ok, clientVerified: client.verify(result.serverFinal) };
  };

  it('accepts the right password, and both sides prove themselves', async () => {
    expect(await exchange('correct horse', 'correct horse')).toEqual({ ok: true, clientVerified: true });
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    expect(await exchange('wrong', 'correct horse')).toEqual({ ok: false, clientVerified: false });
    expect(await exchange('anything', null)).toEqual({ ok: false, clientVerified: false });
  });

  it('never accepts decoy keys, even with a proof that matches them', async () => {
    const real = parseScramVerifier(await makeScramVerifier('pw', 4096))!;
    const keys: DecoyScramKeys = { ...real, decoy: true };
    const server = new ScramServer(keys);
    const client = new ScramClient('pw');
    expect(server.final(client.final(server.first(client.first()))).ok).toBe(false);
  });

  it('refuses channel binding it did not offer, and a tampered nonce', async () => {
    expect(() => new ScramServer(decoys.scramKeys('x')).first('p=tls-server-end-point,,n=*,r=abc')).toThrowError(/channel binding/);
    const server = new ScramServer(parseScramVerifier(await makeScramVerifier('pw', 4096))!);
    const client = new ScramClient('pw');
    server.first(client.first());
    expect(server.final('c=biws,r=forged,p=' + Buffer.alloc(32).toString('base64')).ok).toBe(false);
  });
});
