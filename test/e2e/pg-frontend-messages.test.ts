// Every PostgreSQL frontend message that can execute something is recorded (issue 13, item 1). A
// raw protocol client (node-postgres does the TLS and SCRAM login, then its parser is detached and
// the test writes messages byte by byte: no stock client sends a FunctionCall of its choice, a
// CopyFail or a bare Flush) talks through Portcullis to a real PostgreSQL 15. The test walks the
// protocol documentation's list of frontend messages (PostgreSQL 15, "Message Formats"): each one
// that executes is sent and its record checked against what the target really did; each one that
// cannot execute is sent too and shown to add nothing (or named as handled before relaying).
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgMessage, PgFrameReader } from '../../gateway/postgres/wire/frames.js';
import { RecordingLayout } from '../../recorder/layout.js';
import { parseErrorFields } from '../../gateway/postgres/wire/server-messages.js';
import type { StatementRecord } from '../../recorder/statement-record.js';
import { waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { sessionStatements } from '../harness/session-statements.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
  const r = fx.psql(['-c', `create table probe(v text);
    create function probe_fn(t text) returns int language sql as $$ insert into probe values (t) returning 1 $$`]);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
const values = (vs: Array<string | Buffer>): Buffer[] => [int16(vs.length), ...vs.map((v) => { const b = Buffer.from(v); return Buffer.concat([int32(b.length), b]); })];

/** The frontend messages of the protocol, each sent below: what it is and whether it can execute. */
const FRONTEND: Record<string, string> = {
  Q: 'Query', P: 'Parse', B: 'Bind', E: 'Execute', D: 'Describe', C: 'Close', S: 'Sync', H: 'Flush', F: 'FunctionCall',
  d: 'CopyData', c: 'CopyDone', f: 'CopyFail', X: 'Terminate', p: 'PasswordMessage / SASLInitialResponse / SASLResponse / GSSResponse',
};
// Not typed messages, handled by the gateway before any relaying (gateway/postgres/wire/startup.ts):
// StartupMessage, SSLRequest, GSSENCRequest (answered 'N'), CancelRequest (mapped to the session's
// own backend through the gateway's cancel keys). None of them carries SQL.

/** A logged-in connection through the gateway whose bytes the test writes and reads itself. */
class RawPg {
  private readonly messages: PgMessage[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(private readonly stream: Duplex) {
    const frames = new PgFrameReader((m) => { this.messages.push(m); this.waiter?.(); });
    stream.removeAllListeners('data');
    stream.on('data', (d: Buffer) => frames.push(d));
    stream.on('close', () => { this.closed = true; this.waiter?.(); });
  }

  static async open(): Promise<RawPg> {
    const c = new pg.Client({
      host: '127.0.0.1', port: fx.gw.ports.postgres, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8'), servername: 'localhost' },
    });
    await c.connect();
    // The test reads the connection from here on; the driver's own view of its end is not wanted.
    c.on('error', () => {});
    const stream = (c as unknown as { connection: { stream: Duplex } }).connection.stream;
    stream.removeAllListeners('error');
    stream.on('error', () => {});
    return new RawPg(stream);
  }

  send(...parts: Buffer[]): void {
    this.stream.write(Buffer.concat(parts));
  }

  /** Server messages up to and including the first of type `until` (or the close). */
  async read(until = 'Z'): Promise<PgMessage[]> {
    for (;;) {
      const at = this.messages.findIndex((m) => m.type === until);
      if (at >= 0) return this.messages.splice(0, at + 1);
      if (this.closed) return this.messages.splice(0);
      await new Promise<void>((r) => { this.waiter = r; setTimeout(r, 5000).unref(); });
    }
  }
}

const types = (ms: PgMessage[]): string => ms.map((m) => m.type).join('');
const errorOf = (ms: PgMessage[]): Record<string, string> | undefined => {
  const e = ms.find((m) => m.type === 'E');
  return e ? parseErrorFields(e.head) : undefined;
};
const probeRows = (): string[] => fx.pg.sql('select v from probe', 'orders').split('\n').filter(Boolean).sort();

describe('every frontend message that can execute is recorded (PostgreSQL)', () => {
  it('sends each frontend message type through Portcullis and finds a record for each execution', async () => {
    const sent = new Set<string>();
    const c = await RawPg.open();
    const send = (...ms: Buffer[]): void => { for (const m of ms) sent.add(String.fromCharCode(m[0]!)); c.send(...ms); };
    const fnOid = Number(fx.pg.sql("select 'probe_fn(text)'::regprocedure::oid", 'orders').trim());

    // Query (simple protocol).
    send(msg('Q', cstr("insert into probe values ('Q')")));
    expect(types(await c.read())).toBe('CZ');
    // Parse, Bind, Describe, Execute, Sync (extended protocol), with a named statement.
    send(msg('P', cstr('s1'), cstr('insert into probe values ($1)'), int16(0)), msg('B', cstr(''), cstr('s1'), int16(0), ...values(['P/B/E']), int16(0)),
      msg('D', Buffer.from('P'), cstr('')), msg('E', cstr(''), int32(0)), msg('S'));
    expect(types(await c.read())).toBe('12nCZ');
    // Flush instead of Sync: the Execute runs and answers without a Sync; Flush itself runs nothing.
    send(msg('B', cstr(''), cstr('s1'), int16(0), ...values(['flushed']), int16(0)), msg('E', cstr(''), int32(0)), msg('H'));
    expect(types(await c.read('C'))).toBe('2C');
    send(msg('S'));
    expect(types(await c.read())).toBe('Z');
    // Close the statement, then reuse its name for other SQL: the new text is what gets recorded.
    send(msg('C', Buffer.from('S'), cstr('s1')), msg('P', cstr('s1'), cstr("insert into probe values ('after close')"), int16(0)),
      msg('B', cstr(''), cstr('s1'), int16(0), int16(0), int16(0)), msg('E', cstr(''), int32(0)), msg('S'));
    expect(types(await c.read())).toBe('312CZ');
    // FunctionCall of a built-in by OID (set_config, 2078) and of the user's own function by OID.
    send(msg('F', int32(2078), int16(0), ...values(['work_mem', '4MB', 'false']), int16(0)));
    expect(types(await c.read())).toBe('VZ');
    send(msg('F', int32(fnOid), int16(0), ...values(['F']), int16(0)));
    expect(types(await c.read())).toBe('VZ');
    send(msg('F', int32(957), int16(1), int16(1), int16(1), int32(4), int32(-1), int16(1))); // lo_creat(-1): binary argument and result
    expect(types(await c.read())).toBe('VZ');
    // query_to_xml runs SQL given as an argument: padding cannot push it out of the record.
    const hidden = `/* ${'x'.repeat(70 * 1024)} */ SELECT v FROM probe WHERE v = 'Q'`;
    send(msg('F', int32(2924), int16(0), ...values([hidden, 'true', 'false', '']), int16(0)));
    expect(types(await c.read())).toBe('VZ');
    // COPY FROM STDIN: CopyData rows then CopyDone; then one ended by CopyFail (nothing copied).
    send(msg('Q', cstr('copy probe from stdin')));
    expect(types(await c.read('G'))).toBe('G');
    send(msg('d', Buffer.from('copy-1\n')), msg('d', Buffer.from('copy-2\n')), msg('c'));
    expect(types(await c.read())).toBe('CZ');
    send(msg('Q', cstr('copy probe from stdin')));
    expect(types(await c.read('G'))).toBe('G');
    send(msg('d', Buffer.from('never-copied\n')), msg('f', cstr('client gave up')));
    const failed = await c.read();
    expect(errorOf(failed)?.C).toBe('57014');
    // Terminate.
    send(msg('X'));
    await c.read('never');
    expect(c.closed).toBe(true);

    // A PasswordMessage-family message after login executes nothing: the target ends that connection.
    const p = await RawPg.open();
    p.send(msg('p', cstr('secret')));
    sent.add('p');
    const answer = await p.read('never');
    expect(errorOf(answer)?.C).toBe('08P01');

    expect([...sent].sort()).toEqual(Object.keys(FRONTEND).sort());
    expect(probeRows()).toEqual(['after close', 'copy-1', 'copy-2', 'F', 'flushed', 'P/B/E', 'Q'].sort());

    let recs: StatementRecord[] = [];
    await waitFor('the statement records', () => (recs = sessionStatements(fx.gw.dataDir).map((s) => s.record)).some((r) => r.error?.sqlstate === '57014'), 10_000);
    expect(recs).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'simple', sql: "insert into probe values ('Q')", rows_affected: 1 }),
      expect.objectContaining({ path: 'extended', sql: 'insert into probe values ($1)', statement: 's1', params: ['P/B/E'], rows_affected: 1 }),
      expect.objectContaining({ path: 'extended', sql: 'insert into probe values ($1)', statement: 's1', params: ['flushed'], rows_affected: 1 }),
      expect.objectContaining({ path: 'extended', sql: "insert into probe values ('after close')", statement: 's1', rows_affected: 1 }),
      expect.objectContaining({ path: 'function-call', function_oid: 2078, function_name: 'set_config(text, text, boolean)',
        params: ['work_mem', '4MB', 'false'], result_bytes: 3, error: null }),
      expect.objectContaining({ path: 'function-call', function_oid: fnOid, params: ['F'], result_bytes: 1, error: null }),
      expect.objectContaining({ path: 'function-call', function_oid: 957, function_name: 'lo_creat(integer)', params: ['\\xffffffff'], result_bytes: 4,
        sql: "/* FunctionCall, oid 957 */ SELECT pg_catalog.lo_creat('\\xffffffff'::bytea)" }),
      expect.objectContaining({ path: 'simple', sql: 'copy probe from stdin', command: 'COPY 2', rows_affected: 2, copy: { direction: 'in', bytes: 14 } }),
      expect.objectContaining({ path: 'simple', sql: 'copy probe from stdin', copy: { direction: 'in', bytes: 13 },
        error: expect.objectContaining({ sqlstate: '57014' }) as unknown }),
    ]));
    const userCall = recs.find((r) => r.function_oid === fnOid)!;
    expect(userCall.sql).toContain(`SELECT ${fnOid}::regprocedure`);
    expect(userCall.sql).toMatch(/SELECT <oid \d+>\('F'\)$/);
    const withSession = sessionStatements(fx.gw.dataDir).find((s) => s.record.function_oid === 2924)!;
    expect(withSession.record).toMatchObject({ function_name: 'query_to_xml(text, boolean, boolean, text)', error: null });
    expect(withSession.record.sql.endsWith(`WHERE v = ''Q''', 'true', 'false', '')`)).toBe(true);
    const whole = readFileSync(RecordingLayout.inDataDir(fx.gw.dataDir, withSession.session).file(withSession.record.sql_file!), 'utf8');
    expect(whole).toBe(`/* FunctionCall, oid 2924 */ SELECT pg_catalog.query_to_xml('${hidden.replaceAll("'", "''")}', 'true', 'false', '')`);
  }, 60_000);
});
