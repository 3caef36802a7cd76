// No statement text is lost to a size cap (issue 13, item 2), with psql and node-postgres through
// Portcullis to a real PostgreSQL 15: a statement padded past the record's 64 KiB inline part keeps
// its whole text in a side file the record names (what `session show --full` prints), a statement
// just under the 16 MiB cap runs and is kept whole, and one over it is refused in protocol words
// (FATAL 54000), never reaches the target, is recorded as refused and ends the session. Bound
// parameters likewise: kept whole (a side file over 64 KiB), a Bind over the cap refused.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingLayout } from '../../recorder/layout.js';
import type { StatementRecord } from '../../recorder/statement-record.js';
import { waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { sessionStatements } from '../harness/session-statements.js';

let fx: PgFixture;
const CAP = 16 * 1024 * 1024;

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
  const r = fx.psql(['-c', 'create table salaries(id int primary key, amount int); insert into salaries values (1, 100), (2, 200)']);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

const amount = (id: number): string => fx.pg.sql(`select amount from salaries where id = ${id}`, 'orders').trim();

/** The one record (with its session) whose text matches, once the recording has it. */
async function recordOf(match: (r: StatementRecord) => boolean): Promise<{ session: string; record: StatementRecord }> {
  let found: { session: string; record: StatementRecord } | undefined;
  await waitFor('the statement record', () => (found = sessionStatements(fx.gw.dataDir).find((s) => match(s.record))) !== undefined, 10_000);
  return found!;
}

const sideFile = (session: string, r: StatementRecord): string => readFileSync(RecordingLayout.inDataDir(fx.gw.dataDir, session).file(r.sql_file!), 'utf8');

describe('statement size through Portcullis (PostgreSQL)', () => {
  it('keeps the whole text of a 70 KB-padded UPDATE from psql: start and end inline, all of it in the side file and in session show --full', async () => {
    const sql = `/* ${'x'.repeat(70 * 1024)} */ UPDATE salaries SET amount = amount * 2 WHERE id = 1`;
    const r = fx.psql([], { input: `${sql};\n` });
    expect(r.status, r.stderr).toBe(0);
    expect(amount(1)).toBe('200');
    const { session, record } = await recordOf((s) => s.path === 'simple' && s.sql.includes('UPDATE salaries SET amount = amount * 2'));
    expect(record).toMatchObject({ command: 'UPDATE 1', rows_affected: 1, error: null });
    expect(record.sql_file).toMatch(/^stmt-\d+\.sql$/);
    // The verb the padding was meant to hide is in the record itself, not only in the side file.
    expect(record.sql).toMatch(/UPDATE salaries SET amount = amount \* 2 WHERE id = 1;?$/);
    expect(record.sql).toContain(`${record.sql_bytes} bytes in all; the whole statement is in ${record.sql_file}`);
    const whole = sideFile(session, record);
    expect(whole.startsWith(sql)).toBe(true);
    expect(Buffer.byteLength(whole)).toBe(record.sql_bytes);
    const shown = JSON.parse(fx.gw.admin(['session', 'show', session, '--full', '--json']).stdout) as { statements: StatementRecord[] };
    expect(shown.statements.find((s) => s.sql_file === record.sql_file)?.sql).toBe(whole);
  });

  it('keeps the whole text of a padded Parse from node-postgres (extended protocol, with its parameters)', async () => {
    const c = new pg.Client({
      host: '127.0.0.1', port: fx.gw.ports.postgres, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8'), servername: 'localhost' },
    });
    await c.connect();
    const sql = `/* ${'p'.repeat(70 * 1024)} */ UPDATE salaries SET amount = amount + $1 WHERE id = $2`;
    try {
      await c.query(sql, [5, 2]);
    } finally {
      await c.end();
    }
    const { session, record } = await recordOf((s) => s.path === 'extended' && s.sql.includes('amount + $1'));
    expect(record).toMatchObject({ params: ['5', '2'], rows_affected: 1, sql_bytes: Buffer.byteLength(sql) });
    expect(sideFile(session, record)).toBe(sql);
  });

  it('keeps whole a 100 KB bound parameter that is itself SQL (query_to_xml($1)): cut short inline, whole in the params side file and in session show --full', async () => {
    const c = new pg.Client({
      host: '127.0.0.1', port: fx.gw.ports.postgres, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8'), servername: 'localhost' },
    });
    await c.connect();
    // The SQL that runs is the parameter: padding must not hide it from the record.
    const hidden = `/* ${'q'.repeat(100 * 1024)} */ select amount from salaries where id = 1`;
    try {
      const r = await c.query<{ x: string }>("select query_to_xml($1, true, true, '')::text as x", [hidden]);
      expect(r.rows[0]?.x).toContain('<amount>');
    } finally {
      await c.end();
    }
    const { session, record } = await recordOf((s) => s.path === 'extended' && s.sql.includes('query_to_xml($1'));
    expect(record.params_file).toMatch(/^stmt-\d+\.params\.json$/);
    expect(record.params![0]!.endsWith('select amount from salaries where id = 1')).toBe(true);
    const file = RecordingLayout.inDataDir(fx.gw.dataDir, session).file(record.params_file!);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([hidden]);
    const shown = JSON.parse(fx.gw.admin(['session', 'show', session, '--full', '--json']).stdout) as { statements: StatementRecord[] };
    expect(shown.statements.find((s) => s.params_file === record.params_file)?.params).toEqual([hidden]);
  });

  it('refuses a Bind whose parameters are over the 16 MiB cap with FATAL 54000 before the target runs it', async () => {
    const c = new pg.Client({
      host: '127.0.0.1', port: fx.gw.ports.postgres, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8'), servername: 'localhost' },
    });
    c.on('error', () => { /* the gateway ends the session */ });
    await c.connect();
    const before = amount(2);
    let failure: Error | null = null;
    try {
      await c.query('UPDATE salaries SET amount = length($1) WHERE id = 2', ['b'.repeat(17 * 1024 * 1024)]);
    } catch (e) {
      failure = e as Error;
    } finally {
      await c.end().catch(() => undefined);
    }
    expect(failure?.message).toMatch(/bound parameters are \d+ bytes, over the gateway's limit of 16777216 bytes/);
    expect(amount(2)).toBe(before);
    await recordOf((s) => s.error?.sqlstate === '54000' && s.path === 'extended');
  }, 60_000);

  it('runs and keeps whole a statement just under the 16 MiB cap', async () => {
    const n = CAP - 64;
    const sql = `SELECT length('${'y'.repeat(n - 'SELECT length(\'\')'.length)}')`;
    expect(Buffer.byteLength(sql)).toBe(n);
    const r = fx.psql(['-At'], { input: `${sql};\n` });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(String(n - 'SELECT length(\'\')'.length));
    const { session, record } = await recordOf((s) => s.sql.startsWith('SELECT length(\'yyy'));
    expect(record.rows_returned).toBe(1);
    expect(sideFile(session, record).startsWith(sql)).toBe(true);
    expect(record.sql_bytes).toBeGreaterThanOrEqual(n);
  }, 60_000);

  it('refuses a 17 MiB statement with FATAL 54000 before the target runs it, records the refusal and ends the session', async () => {
    const sql = `/* ${'z'.repeat(17 * 1024 * 1024)} */ UPDATE salaries SET amount = 0 WHERE id = 2`;
    const before = amount(2);
    const r = fx.psql([], { input: `${sql};\n` });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/FATAL:\s+Portcullis: this statement is \d+ bytes, over the gateway's limit of 16777216 bytes \(statements\.maxBytes\); it was not run/);
    expect(amount(2)).toBe(before);
    const { session, record } = await recordOf((s) => s.error?.sqlstate === '54000');
    expect(record.sql_bytes).toBeGreaterThan(17 * 1024 * 1024);
    expect(record.sql).toMatch(/^\/\* not run: refused by Portcullis/);
    await waitFor('the session to end', () => {
      const list = JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ id: string; end_reason: string | null }>;
      return list.find((s) => s.id === session)?.end_reason === 'statement-too-large';
    }, 10_000);
  }, 60_000);
});
