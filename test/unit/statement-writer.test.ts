// Long statements keep their whole text in a side file the record names: written and renamed before
// the record reaches the statement log (a record never names a missing file), records keep their
// order behind a side file, the bytes count towards the recording, readers validate the name, and a
// side file that cannot be written leaves a record without the name and reports the failure.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink } from '../../recorder/file-sink.js';
import { RecordingLayout } from '../../recorder/layout.js';
import { SessionRecording } from '../../recorder/session-recording.js';
import { parseStatementLine } from '../../recorder/statement-reader.js';
import { type StatementRecord, serializeStatement, statementRecord } from '../../recorder/statement-record.js';
import { INLINE_SQL_BYTES, StatementWriter } from '../../recorder/statement-writer.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'portcullis-stmt-'));
const rec = (sql: string): StatementRecord => statementRecord({ protocol: 'postgres', start: 0, end: 1, sql, path: 'simple', command: 'UPDATE 1', rowsAffected: 1 });
const padded = `/* ${'x'.repeat(70 * 1024)} */ UPDATE salaries SET amount = 0 WHERE id = 7`;

describe('the statement writer', () => {
  it('puts a long statement whole in a side file before its record, keeps the start and end inline, and keeps record order', async () => {
    const dir = tmp();
    const layout = new RecordingLayout(dir);
    const lines: string[] = [];
    const sink = new FileSink(layout.statements, { onError: (e) => { throw e; } });
    const failures: Error[] = [];
    const w = new StatementWriter(layout, () => ({
      write: (data: string | Buffer) => {
        const line = String(data);
        const named = (JSON.parse(line) as StatementRecord).sql_file;
        // At the moment a record reaches the log, the file it names is complete under its final name.
        if (named) expect(readFileSync(layout.file(named), 'utf8')).toBe(padded);
        lines.push(line);
        sink.write(data);
      },
    }) as unknown as FileSink, (e) => failures.push(e));
    w.write(rec('select 1'));
    w.write(rec(padded));
    w.write(rec('select 3'));
    expect(lines).toHaveLength(1);
    await w.settled();
    await sink.close();
    expect(failures).toEqual([]);
    const records = readFileSync(layout.statements, 'utf8').trim().split('\n').map((l) => parseStatementLine(l))
      .map((r) => (r.ok ? r.record : null));
    expect(records.map((r) => r?.sql_file)).toEqual([undefined, 'stmt-2.sql', undefined]);
    const long = records[1] ?? null;
    expect(long).toMatchObject({ sql_bytes: Buffer.byteLength(padded), command: 'UPDATE 1', rows_affected: 1 });
    expect(long!.sql.endsWith('UPDATE salaries SET amount = 0 WHERE id = 7')).toBe(true);
    expect(long!.sql.startsWith('/* xxx')).toBe(true);
    expect(Buffer.byteLength(long!.sql)).toBeLessThan(INLINE_SQL_BYTES);
    expect(records[2]?.sql).toBe('select 3');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(w.sideBytes).toBe(Buffer.byteLength(padded));
  });

  it('puts parameters over 64 KiB in all whole in a params side file, each long one cut to its start and end inline', async () => {
    const dir = tmp();
    const layout = new RecordingLayout(dir);
    const sink = new FileSink(layout.statements, { onError: (e) => { throw e; } });
    const w = new StatementWriter(layout, () => sink, (e) => { throw e; });
    // A parameter can be SQL that runs: SELECT query_to_xml($1, true, true, '').
    const hidden = `/* ${'p'.repeat(80 * 1024)} */ DELETE FROM salaries`;
    const params = ['short', null, hidden];
    w.write(statementRecord({ protocol: 'postgres', start: 0, end: 1, sql: "SELECT query_to_xml($1, true, true, '')", path: 'extended', params }));
    await w.settled();
    await sink.close();
    const line = parseStatementLine(readFileSync(layout.statements, 'utf8').trim());
    const r = line.ok ? line.record : null;
    expect(r).toMatchObject({ params_file: 'stmt-1.params.json', params_bytes: Buffer.byteLength(JSON.stringify(params)) });
    expect(r!.params![0]).toBe('short');
    expect(r!.params![1]).toBeNull();
    expect(r!.params![2]!.endsWith('DELETE FROM salaries')).toBe(true);
    expect(r!.params![2]!.length).toBeLessThan(4096);
    expect(JSON.parse(readFileSync(layout.file('stmt-1.params.json'), 'utf8'))).toEqual(params);
    expect(r!.sql_file).toBeUndefined();
    expect(w.sideBytes).toBe(Buffer.byteLength(JSON.stringify(params)));
  });

  it('writes no side file once the recording\'s budget refuses its bytes, and says the text is not all there', async () => {
    const dir = tmp();
    const layout = new RecordingLayout(dir);
    const sink = new FileSink(layout.statements, { onError: (e) => { throw e; } });
    const w = new StatementWriter(layout, () => sink, (e) => { throw e; }, { take: () => false });
    w.write(rec(padded));
    await w.settled();
    await sink.close();
    const r = parseStatementLine(readFileSync(layout.statements, 'utf8').trim());
    expect(r.ok && r.record.sql_file).toBeUndefined();
    expect(r.ok && r.record.sql_bytes).toBe(Buffer.byteLength(padded));
    expect(readdirSync(dir).filter((f) => f.startsWith('stmt-'))).toEqual([]);
  });

  it('keeps a statement of exactly 64 KiB inline', async () => {
    const dir = tmp();
    const r = new SessionRecording(dir, meta(), () => 0, (e) => { throw e; });
    r.statement(rec('y'.repeat(INLINE_SQL_BYTES)));
    await r.close('closed-by-client');
    expect(readdirSync(dir).filter((f) => f.startsWith('stmt-'))).toEqual([]);
  });

  it('counts side files in the recording\'s bytes and flushes them with the recording', async () => {
    const dir = tmp();
    const r = new SessionRecording(dir, meta(), () => 0, (e) => { throw e; });
    const before = r.bytes;
    r.statement(rec(padded));
    expect(r.bytes - before).toBe(Buffer.byteLength(padded));
    await r.flush();
    // Its record line (start and end inline) is counted once it is written.
    expect(r.bytes - before).toBeGreaterThan(Buffer.byteLength(padded));
    expect(readFileSync(join(dir, 'stmt-1.sql'), 'utf8')).toBe(padded);
    expect(readFileSync(join(dir, 'statements.ndjson'), 'utf8')).toContain('"sql_file":"stmt-1.sql"');
    await r.close('closed-by-client');
    expect(new RecordingLayout(dir).servableFiles().map((f) => f.file)).toContain('stmt-1.sql');
  });

  it('charges side files to the recording\'s byte budget: the one that reaches it is kept whole, later ones are not written', async () => {
    const dir = tmp();
    const failures: Error[] = [];
    const budget = Buffer.byteLength(padded) + 1024;
    const r = new SessionRecording(dir, meta(), () => 0, (e) => failures.push(e), { maxBytes: budget });
    r.statement(rec(padded));
    await r.flush();
    // The first side file is charged and kept, its record line takes the recording to the budget; the second is refused.
    r.statement(rec(padded.replace('id = 7', 'id = 8')));
    await r.flush();
    expect(readFileSync(join(dir, 'stmt-1.sql'), 'utf8')).toBe(padded);
    expect(existsSync(join(dir, 'stmt-2.sql'))).toBe(false);
    expect(r.stopped).toBe('budget');
    expect(r.bytes).toBeGreaterThanOrEqual(budget);
    await new Promise((res) => setImmediate(res));
    expect(failures.map((e) => e.name)).toEqual(['RecordingBudgetExceeded']);
    await r.close('recording-budget');
  });

  it('writes the record without a file name and reports the failure when the side file cannot be written', async () => {
    const dir = tmp();
    const failures: Error[] = [];
    const r = new SessionRecording(dir, meta(), () => 0, (e) => failures.push(e));
    r.statement(rec('select 0'));
    await r.flush();
    // A directory where the temporary file must go: the open fails even for root.
    mkdirSync(join(dir, 'stmt-2.sql.tmp'));
    r.statement(rec(padded));
    await r.flush();
    expect(failures).toHaveLength(1);
    expect(existsSync(join(dir, 'stmt-2.sql'))).toBe(false);
    const last = parseStatementLine(readFileSync(join(dir, 'statements.ndjson'), 'utf8').trim().split('\n').pop()!);
    expect(last.ok && last.record.sql_file).toBeUndefined();
    expect(last.ok && last.record.sql).toContain('the whole statement could not be written');
  });

  it('reads records that name a side file, and refuses names that are not one', () => {
    const good = { ...rec('select 1'), sql_file: 'stmt-12.sql', sql_bytes: 70_000 };
    expect(parseStatementLine(serializeStatement(good))).toMatchObject({ ok: true, record: { sql_file: 'stmt-12.sql', sql_bytes: 70_000 } });
    for (const bad of ['../meta.json', 'stmt-1.sql/../../x', '/etc/passwd', 'stmt-.sql', 'statements.ndjson']) {
      expect(parseStatementLine(serializeStatement({ ...good, sql_file: bad })), bad).toEqual({ ok: false, problem: 'invalid' });
    }
  });
});

function meta(): ConstructorParameters<typeof SessionRecording>[1] {
  return {
    session: 'ses_test', protocol: 'postgres', user: 'dba', target: 'db', grant: 'g', reason: 'r', ticket: null,
    client_addr: '127.0.0.1', started_at: new Date(0).toISOString(),
  };
}
