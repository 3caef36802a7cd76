// The MySQL statement log keeps a prepared statement's parameters whole, however they were sent:
// in COM_STMT_EXECUTE, as COM_STMT_SEND_LONG_DATA chunks before it (whose values the execute then
// leaves out), or as MariaDB's COM_STMT_BULK_EXECUTE rows; reset and close forget pending long data.
import { describe, expect, it } from 'vitest';
import { COM, MyStatementLog } from '../../gateway/mysql/statement-log.js';
import { CAP } from '../../gateway/mysql/wire/capabilities.js';
import type { StatementRecord } from '../../recorder/statement-record.js';

const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const lenenc = (b: Buffer): Buffer => Buffer.concat([b.length < 251 ? Buffer.from([b.length]) : Buffer.concat([Buffer.from([0xfc]), u16(b.length)]), b]);
const pkt = (seq: number, ...parts: Buffer[]): { seq: number; length: number; head: Buffer } => {
  const head = Buffer.concat(parts);
  return { seq, length: head.length, head };
};
const OK = pkt(1, Buffer.from([0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00]));
const VAR_STRING = 0xfd;

/** A log with statement 7 prepared: `sql` with `params` parameters, no result columns. */
function prepared(sql: string, params: number): { log: MyStatementLog; records: StatementRecord[] } {
  const records: StatementRecord[] = [];
  const log = new MyStatementLog(() => CAP.DEPRECATE_EOF, () => 0, (r) => records.push(r));
  log.command(pkt(0, Buffer.from([COM.STMT_PREPARE]), Buffer.from(sql)));
  log.reply(pkt(1, Buffer.from([0x00]), u32(7), u16(0), u16(params), Buffer.from([0]), u16(0)));
  for (let i = 0; i < params; i++) log.reply(pkt(2 + i, Buffer.from('def')));
  return { log, records };
}

/** COM_STMT_EXECUTE of statement 7 with string parameters (null: left out, e.g. sent as long data). */
function execute(values: Array<string | null>): ReturnType<typeof pkt> {
  const n = values.length;
  const types = Buffer.concat(values.map(() => u16(VAR_STRING)));
  const data = Buffer.concat(values.filter((v): v is string => v !== null).map((v) => lenenc(Buffer.from(v))));
  return pkt(0, Buffer.from([COM.STMT_EXECUTE]), u32(7), Buffer.from([0]), u32(1), Buffer.alloc((n + 7) >> 3), Buffer.from([1]), types, data);
}

const longData = (param: number, chunk: string): ReturnType<typeof pkt> => pkt(0, Buffer.from([COM.STMT_SEND_LONG_DATA]), u32(7), u16(param), Buffer.from(chunk));

describe('MySQL prepared statement parameters in the record', () => {
  it('keeps a long parameter whole (no cut at 1,024 characters)', () => {
    const { log, records } = prepared('SELECT LENGTH(?)', 1);
    const value = `${'a'.repeat(5000)} DELETE FROM t`;
    log.command(execute([value]));
    log.reply(OK);
    expect(records.at(-1)?.params).toEqual([value]);
  });

  it('joins COM_STMT_SEND_LONG_DATA chunks into the parameter they were sent for, and counts them until the statement runs', () => {
    const { log, records } = prepared('UPDATE t SET a = ?, b = ? WHERE id = 1', 2);
    log.command(longData(1, 'DROP '));
    log.command(longData(1, 'TABLE orders'));
    expect(log.longDataBytes).toBe('DROP TABLE orders'.length);
    log.command(execute(['first', null]));
    log.reply(OK);
    expect(records.at(-1)?.params).toEqual(['first', 'DROP TABLE orders']);
    expect(log.longDataBytes).toBe(0);
    // The next execution sends its values again.
    log.command(execute(['x', 'y']));
    log.reply(OK);
    expect(records.at(-1)?.params).toEqual(['x', 'y']);
  });

  it('forgets long data on COM_STMT_RESET and COM_STMT_CLOSE', () => {
    const { log } = prepared('SELECT ?', 1);
    log.command(longData(0, 'pending'));
    log.command(pkt(0, Buffer.from([COM.STMT_RESET]), u32(7)));
    log.reply(OK);
    expect(log.longDataBytes).toBe(0);
    log.command(longData(0, 'again'));
    log.command(pkt(0, Buffer.from([COM.STMT_CLOSE]), u32(7)));
    expect(log.longDataBytes).toBe(0);
  });

  it('records MariaDB COM_STMT_BULK_EXECUTE with every row of parameters', () => {
    const { log, records } = prepared('INSERT INTO t VALUES (?, ?)', 2);
    const row = (a: string | null, b: string): Buffer => Buffer.concat([a === null ? Buffer.from([1]) : Buffer.concat([Buffer.from([0]), lenenc(Buffer.from(a))]), Buffer.from([0]), lenenc(Buffer.from(b))]);
    log.command(pkt(0, Buffer.from([0xfa]), u32(7), u16(128), u16(VAR_STRING), u16(VAR_STRING), row('1', 'one'), row(null, 'two')));
    log.reply(OK);
    expect(records.at(-1)).toMatchObject({ sql: 'INSERT INTO t VALUES (?, ?)', path: 'prepared', params: ['["1","one"]', '[null,"two"]'] });
  });
});
