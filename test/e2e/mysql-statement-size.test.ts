// No statement text is lost to a size cap (issue 13, item 2), with the mariadb client and mysql2
// through Portcullis to a real MariaDB (max_allowed_packet 64 MiB): a COM_QUERY and a
// COM_STMT_PREPARE padded past the record's 64 KiB inline part keep their whole text in a side
// file, a statement of 16 MiB - 1 bytes (two packets: a full 2^24-1 payload and its continuation)
// runs and is kept whole, and a 17 MiB one is refused with error 1153 before the target runs it,
// recorded as refused, and ends the session.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingLayout } from '../../recorder/layout.js';
import type { StatementRecord } from '../../recorder/statement-record.js';
import { requireBinary, waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type MyFixture, startMyFixture } from '../harness/my-fixture.js';
import { sessionStatements } from '../harness/session-statements.js';

let fx: MyFixture;
let mariadb: string;

beforeAll(async () => {
  mariadb = requireBinary('mariadb-client', 'mariadb');
  fx = await startMyFixture();
  fx.grant('30m');
  const r = fx.client('create table salaries(id int primary key, amount int); insert into salaries values (1, 100), (2, 200)');
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => { await fx?.stop(); });

/**
 * The mariadb client through the gateway with the statement on stdin (arguments cannot hold 16 MiB);
 * comments are sent. On an error the client echoes the whole statement to stderr: room for it.
 */
function client(input: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(mariadb, ['--no-defaults', '-h', '127.0.0.1', '-P', String(fx.gw.ports.mysql), '-u', 'dba+shop-db', `-p${DBA_PASSWORD}`,
    '--ssl', '--batch', '--comments', '--max-allowed-packet=64M', 'shop'], { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

const amount = (id: number): string => fx.db.sql(`select amount from shop.salaries where id = ${id}`).trim();

async function recordOf(match: (r: StatementRecord) => boolean): Promise<{ session: string; record: StatementRecord }> {
  let found: { session: string; record: StatementRecord } | undefined;
  await waitFor('the statement record', () => (found = sessionStatements(fx.gw.dataDir).find((s) => match(s.record))) !== undefined, 10_000);
  return found!;
}

const sideFile = (session: string, r: StatementRecord): string => readFileSync(RecordingLayout.inDataDir(fx.gw.dataDir, session).file(r.sql_file!), 'utf8');

describe('statement size through Portcullis (MySQL)', () => {
  it('keeps the whole text of a 70 KB-padded UPDATE from the mariadb client (COM_QUERY)', async () => {
    const sql = `/* ${'x'.repeat(70 * 1024)} */ UPDATE salaries SET amount = amount * 2 WHERE id = 1`;
    const r = client(`${sql};\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(amount(1)).toBe('200');
    const { session, record } = await recordOf((s) => s.path === 'simple' && s.sql.includes('amount * 2'));
    expect(record).toMatchObject({ rows_affected: 1, error: null, sql_bytes: Buffer.byteLength(sql) });
    expect(record.sql_file).toMatch(/^stmt-\d+\.sql$/);
    expect(record.sql.endsWith('UPDATE salaries SET amount = amount * 2 WHERE id = 1')).toBe(true);
    expect(sideFile(session, record)).toBe(sql);
  });

  it('keeps the whole text of a padded COM_STMT_PREPARE from mysql2, and records its execution with the text', async () => {
    const c = await mysql.createConnection({
      host: '127.0.0.1', port: fx.gw.ports.mysql, user: 'dba+shop-db', password: DBA_PASSWORD, database: 'shop',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') },
    });
    const sql = `/* ${'p'.repeat(70 * 1024)} */ UPDATE salaries SET amount = amount + ? WHERE id = ?`;
    try {
      await c.execute(sql, [5, 2]);
    } finally {
      await c.end();
    }
    const { session, record } = await recordOf((s) => s.path === 'prepared' && s.sql.includes('amount + ?'));
    expect(record).toMatchObject({ params: ['5', '2'], rows_affected: 1, sql_bytes: Buffer.byteLength(sql) });
    expect(sideFile(session, record)).toBe(sql);
  });

  it('keeps whole a 100 KB parameter of a prepared statement from mysql2 (COM_STMT_EXECUTE): cut short inline, whole in the params side file', async () => {
    const c = await mysql.createConnection({
      host: '127.0.0.1', port: fx.gw.ports.mysql, user: 'dba+shop-db', password: DBA_PASSWORD, database: 'shop',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') },
    });
    const value = `/* ${'v'.repeat(100 * 1024)} */ DELETE FROM salaries`;
    try {
      const [rows] = await c.execute('SELECT LENGTH(?) AS n', [value]);
      expect((rows as Array<{ n: number }>)[0]?.n).toBe(Buffer.byteLength(value));
    } finally {
      await c.end();
    }
    const { session, record } = await recordOf((s) => s.path === 'prepared' && s.sql === 'SELECT LENGTH(?) AS n' && s.params_file !== undefined);
    expect(record.params![0]!.endsWith('DELETE FROM salaries')).toBe(true);
    const file = RecordingLayout.inDataDir(fx.gw.dataDir, session).file(record.params_file!);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([value]);
  });

  it('refuses a prepared statement whose parameters are over the 16 MiB cap with error 1153 before the target runs it', async () => {
    const c = await mysql.createConnection({
      host: '127.0.0.1', port: fx.gw.ports.mysql, user: 'dba+shop-db', password: DBA_PASSWORD, database: 'shop',
      ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') },
    });
    c.on('error', () => { /* the gateway ends the session */ });
    const before = amount(2);
    let failure: Error | null = null;
    try {
      await c.execute('UPDATE salaries SET amount = LENGTH(?) WHERE id = 2', ['w'.repeat(17 * 1024 * 1024)]);
    } catch (e) {
      failure = e as Error;
    } finally {
      c.destroy();
    }
    expect(failure?.message).toMatch(/parameters are \d+ bytes, over the gateway's limit of 16777216 bytes/);
    expect(amount(2)).toBe(before);
    await recordOf((s) => s.error?.code === 1153 && s.path === 'prepared');
  }, 60_000);

  it('runs and keeps whole a statement of 16 MiB - 1 bytes, sent as two packets', async () => {
    const n = 16 * 1024 * 1024 - 1;
    const sql = `SELECT LENGTH('${'y'.repeat(n - 'SELECT LENGTH(\'\')'.length)}')`;
    expect(Buffer.byteLength(sql)).toBe(n);
    const r = client(`${sql};\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(String(n - 'SELECT LENGTH(\'\')'.length));
    const { session, record } = await recordOf((s) => s.sql.startsWith('SELECT LENGTH(\'yyy'));
    expect(record).toMatchObject({ sql_bytes: n, rows_returned: 1 });
    expect(sideFile(session, record)).toBe(sql);
  }, 60_000);

  it('counts every row of a result holding a row of 16 MiB or more, whose continuation packet is shaped like an EOF', async () => {
    // The row's payload is 2^24 - 1 + 5 bytes (a 9-byte length prefix and the value): the wire
    // carries a full packet and a 5-byte continuation, which the value's last bytes make look like
    // an EOF (fe 00 00 02 00). Read as a reply of its own, it would end the result after one row.
    const value = 0xffffff + 5 - 9;
    const r = client(`SELECT CONCAT(REPEAT('a', ${value - 5}), x'FE00000200') AS v UNION ALL SELECT 'after the big row';\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('after the big row');
    const { record } = await recordOf((s) => s.sql.includes("x'FE00000200'"));
    expect(record).toMatchObject({ rows_returned: 2, error: null });
  }, 60_000);

  it('refuses a 17 MiB statement with error 1153 before the target runs it, records the refusal and ends the session', async () => {
    const sql = `/* ${'z'.repeat(17 * 1024 * 1024)} */ UPDATE salaries SET amount = 0 WHERE id = 2`;
    const before = amount(2);
    const r = client(`${sql};\n`);
    expect(r.status).not.toBe(0);
    expect(r.stderr.slice(-1000)).toMatch(/ERROR 1153 \(08S01\).*Portcullis: this statement is \d+ bytes, over the gateway's limit of 16777216 bytes \(statements\.maxBytes\); it was not run/);
    expect(amount(2)).toBe(before);
    const { session, record } = await recordOf((s) => s.error?.code === 1153);
    expect(record.sql_bytes).toBeGreaterThan(16 * 1024 * 1024);
    await waitFor('the session to end', () => {
      const list = JSON.parse(fx.gw.admin(['session', 'list', '--json']).stdout) as Array<{ id: string; end_reason: string | null }>;
      return list.find((s) => s.id === session)?.end_reason === 'statement-too-large';
    }, 10_000);
  }, 60_000);
});
