// The one statement schema: records round-trip through the serializer and the reader; records of
// recordings made before the schema had a version (PostgreSQL's and MySQL's own shapes) still read,
// upgraded; a torn last line, a corrupt line and a newer schema are counted, never thrown.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openStatements, parseStatementLine, readStatements } from '../../recorder/statement-reader.js';
import { isoTime, pgRowCounts, serializeStatement, type StatementRecord, statementRecord } from '../../recorder/statement-record.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

const sample: StatementRecord = statementRecord({
  protocol: 'postgres', start: T0, end: T0 + 12, sql: 'update t set c = $1', path: 'extended', statement: 's1', portal: '',
  params: ['1', null], command: 'UPDATE 3', rowsAffected: 3,
});

function file(lines: string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pc-statements-')), 'statements.ndjson');
  writeFileSync(path, lines.join(''));
  return path;
}

describe('statement records', () => {
  it('serialize with the version and every field, and read back unchanged', () => {
    const line = serializeStatement(sample);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      v: 1, protocol: 'postgres', t: '2026-12-01T10:00:00.000Z', duration_ms: 12, sql: 'update t set c = $1', path: 'extended',
      statement: 's1', portal: '', params: ['1', null], command: 'UPDATE 3', rows_returned: null, rows_affected: 3, error: null,
    });
    expect(parseStatementLine(line)).toEqual({ ok: true, record: sample });
  });

  it('read an unversioned PostgreSQL record, where rows was the tag count and the error code a string', () => {
    const old = { t: '2026-11-20T09:00:00.000Z', duration_ms: 3, sql: 'select 1/0', path: 'simple', error: { code: '22012', message: 'division by zero' } };
    expect(parseStatementLine(JSON.stringify(old))).toEqual({ ok: true, record: {
      v: 1, protocol: 'postgres', t: old.t, duration_ms: 3, sql: 'select 1/0', path: 'simple', rows_returned: null, rows_affected: null,
      error: { sqlstate: '22012', code: null, message: 'division by zero' },
    } });
    const select = { t: old.t, duration_ms: 1, sql: 'select * from t', path: 'simple', command: 'SELECT 2', rows: 2, rows_returned: 2 };
    expect(parseStatementLine(JSON.stringify(select))).toMatchObject({ ok: true, record: { rows_returned: 2, rows_affected: null, command: 'SELECT 2' } });
    const update = { t: old.t, duration_ms: 1, sql: 'update t set c = 1', path: 'extended', statement: '', portal: '', params: [], command: 'UPDATE 4', rows: 4 };
    expect(parseStatementLine(JSON.stringify(update))).toMatchObject({ ok: true, record: { rows_returned: null, rows_affected: 4, statement: '', portal: '' } });
    const copyIn = { t: old.t, duration_ms: 9, sql: 'copy t from stdin', path: 'simple', command: 'COPY 3', rows: 3, copy: { direction: 'in', bytes: 1500 } };
    expect(parseStatementLine(JSON.stringify(copyIn))).toMatchObject({ ok: true, record: { rows_affected: 3, rows_returned: null, copy: { direction: 'in', bytes: 1500 } } });
  });

  it('read an unversioned MySQL record, where rows meant rows returned and the error code a number', () => {
    const rows = { t: '2026-11-20T09:00:00.000Z', duration_ms: 2, sql: 'select c from t where a = ?', path: 'prepared', statement_id: 9, params: ['7'], rows: 1 };
    expect(parseStatementLine(JSON.stringify(rows))).toEqual({ ok: true, record: {
      v: 1, protocol: 'mysql', t: rows.t, duration_ms: 2, sql: rows.sql, path: 'prepared', statement: '9', params: ['7'],
      rows_returned: 1, rows_affected: null, error: null,
    } });
    const update = { t: rows.t, duration_ms: 1, sql: 'update t set c = 1', path: 'query', affected_rows: 5 };
    expect(parseStatementLine(JSON.stringify(update))).toMatchObject({ ok: true, record: { path: 'simple', rows_returned: null, rows_affected: 5 } });
    const failed = { t: rows.t, duration_ms: 1, sql: 'select * from nope', path: 'query', error: { code: 1146, sqlstate: '42S02', message: 'no table' } };
    expect(parseStatementLine(JSON.stringify(failed))).toMatchObject({ ok: true, record: { error: { sqlstate: '42S02', code: 1146, message: 'no table' } } });
    // The session's protocol decides when the shape alone cannot (a bare MySQL query record).
    const bare = { t: rows.t, duration_ms: 1, sql: 'do 1', path: 'query' };
    expect(parseStatementLine(JSON.stringify(bare), 'mysql')).toMatchObject({ ok: true, record: { protocol: 'mysql', path: 'simple' } });
  });

  it('refuse what is not a record, and name a record of a newer schema', () => {
    expect(parseStatementLine('{"v":1,"sql":')).toEqual({ ok: false, problem: 'not-json' });
    expect(parseStatementLine('[1,2]')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseStatementLine(JSON.stringify({ ...sample, rows_returned: 'many' }))).toEqual({ ok: false, problem: 'invalid' });
    expect(parseStatementLine(JSON.stringify({ ...sample, path: 'teleport' }))).toEqual({ ok: false, problem: 'invalid' });
    expect(parseStatementLine(JSON.stringify({ t: sample.t, duration_ms: 1, sql: 'x', path: 'constructor' }))).toEqual({ ok: false, problem: 'invalid' });
    expect(parseStatementLine(JSON.stringify({ t: 'yesterday', duration_ms: 1, sql: 'x', path: 'simple' }))).toEqual({ ok: false, problem: 'invalid' });
    expect(parseStatementLine(JSON.stringify({ ...sample, v: 2 }))).toEqual({ ok: false, problem: 'newer-version' });
    // Keys a later writer adds are dropped, not refused.
    expect(parseStatementLine(JSON.stringify({ ...sample, plan: 'seq scan' }))).toEqual({ ok: true, record: sample });
  });

  it('never throw on arbitrary lines or JSON, and return a record only when it validates', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), (line) => {
      const r = parseStatementLine(line);
      if (r.ok) expect(parseStatementLine(serializeStatement(r.record))).toEqual(r);
    }), { numRuns: 2000 });
    // Every field replaced by values of other types, one at a time: only a free text field takes a string, only params an array.
    const text = new Set(['sql', 'statement', 'portal', 'command']);
    for (const key of Object.keys(sample)) {
      for (const value of [{}, [], 'x', -1, true]) {
        const valid = (value === 'x' && text.has(key)) || (key === 'params' && Array.isArray(value));
        expect(parseStatementLine(JSON.stringify({ ...sample, [key]: value })).ok, `${key} = ${JSON.stringify(value)}`).toBe(valid);
      }
    }
  });

  it('read files of mixed age, counting a torn last line, a corrupt line and newer records', async () => {
    const old = JSON.stringify({ t: '2026-11-20T09:00:00.000Z', duration_ms: 1, sql: 'select 1', path: 'simple', command: 'SELECT 1', rows: 1, rows_returned: 1 }) + '\n';
    const path = file([old, 'garbage\n', serializeStatement(sample), '\n', JSON.stringify({ ...sample, v: 7 }) + '\n', serializeStatement(sample).slice(0, 40)]);
    const got = await readStatements(path, 'postgres');
    expect(got.statements.map((r) => r.sql)).toEqual(['select 1', 'update t set c = $1']);
    expect(got).toMatchObject({ version: 1, skipped: 1, newer: 1, truncated: true, next: null });
    const first = await readStatements(path, 'postgres', { limit: 1 });
    expect(first).toMatchObject({ next: 1 });
    expect(first.statements.map((r) => r.sql)).toEqual(['select 1']);
    const second = await readStatements(path, 'postgres', { from: 1, limit: 1 });
    expect(second.statements.map((r) => r.sql)).toEqual(['update t set c = $1']);
    expect(second.next).toBeNull();
  });

  it('stream a file whose last line is whole as not truncated', async () => {
    const { records, summary } = openStatements(file([serializeStatement(sample), serializeStatement(sample)]));
    let n = 0;
    for await (const r of records) { expect(r).toEqual(sample); n++; }
    expect(n).toBe(2);
    expect(summary).toEqual({ skipped: 0, newer: 0, truncated: false });
  });
});

describe('PostgreSQL command tags as rows returned and affected', () => {
  it('reads the tag by its verb', () => {
    expect(pgRowCounts('SELECT 3', 3, undefined)).toEqual({ returned: 3, affected: null });
    expect(pgRowCounts('SELECT 0', 0, undefined)).toEqual({ returned: 0, affected: null });
    expect(pgRowCounts('SELECT 5', 0, undefined)).toEqual({ returned: null, affected: 5 });
    expect(pgRowCounts('INSERT 0 2', 0, undefined)).toEqual({ returned: null, affected: 2 });
    expect(pgRowCounts('DELETE 2', 2, undefined)).toEqual({ returned: 2, affected: 2 });
    expect(pgRowCounts('COPY 9', 0, 'out')).toEqual({ returned: 9, affected: null });
    expect(pgRowCounts('COPY 9', 0, 'in')).toEqual({ returned: null, affected: 9 });
    expect(pgRowCounts('FETCH 4', 4, undefined)).toEqual({ returned: 4, affected: null });
    expect(pgRowCounts('MOVE 4', 0, undefined)).toEqual({ returned: null, affected: null });
    expect(pgRowCounts('CREATE TABLE', 0, undefined)).toEqual({ returned: null, affected: null });
    expect(pgRowCounts('SHOW', 1, undefined)).toEqual({ returned: 1, affected: null });
    expect(pgRowCounts(undefined, 2, undefined)).toEqual({ returned: 2, affected: null });
  });
});

describe('record times', () => {
  const iso = (ms: number): string => new Date(ms).toISOString();
  it('are toISOString\'s text for any time, in any order (the second kept from the call before never leaks)', () => {
    const edges = [0, -0, 1, 9, 10, 99, 100, 999, 1000, 1001, T0, T0 + 999, T0 + 1000, T0 - 1, 253_402_300_799_999, 253_402_300_800_000,
      -1, -1000, -62_198_755_200_000, 8.64e15, -8.64e15, 1.5, T0 + 0.25, 8.64e15 - 1];
    for (const ms of [...edges, ...edges.slice().reverse()]) expect(isoTime(ms)).toBe(iso(ms));
    fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.integer({ min: T0 - 5000, max: T0 + 5000 }), fc.double({ min: -8.64e15, max: 8.64e15, noNaN: true }))), (times) => {
      for (const ms of times) expect(isoTime(ms)).toBe(iso(ms));
    }), { numRuns: 300 });
  });
  it('throw toISOString\'s RangeError for an invalid time', () => {
    for (const ms of [Number.NaN, Infinity, -Infinity, 8.64e15 + 1]) expect(() => isoTime(ms)).toThrow(RangeError);
  });
});
