// psql through Portcullis to a real PostgreSQL 15: TLS required and verifiable, multi-statement
// queries, transactions with errors, \copy both ways, refusals with real SQLSTATEs, and the
// statement recording.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { readRecordingMeta } from '../../recorder/meta.js';
import type { StatementRecord } from '../../recorder/statement-record.js';
import { tempDir, waitFor } from '../harness/common.js';
import { DB_PASSWORD, type PgFixture, startPgFixture } from '../harness/pg-fixture.js';
import { tlsCaArgs } from '../harness/test-ca.js';

let fx: PgFixture;

beforeAll(async () => {
  fx = await startPgFixture();
  fx.grant('30m');
}, 120_000);

afterAll(async () => { await fx?.stop(); });


describe('psql through Portcullis', () => {
  it('connects with sslmode=require as the vaulted role, and with verify-full against the exported CA', () => {
    const r = fx.psql(['-tAc', 'select current_user, current_database(), ssl from pg_stat_ssl where pid = pg_backend_pid()']);
    expect(r.status, r.stderr).toBe(0);
    // ssl = t: the gateway's own leg to PostgreSQL is TLS too, verified by the test CA (issue 14).
    expect(r.stdout.trim()).toBe('app|orders|t');
    const full = fx.psql(['-tAc', 'select 42'], { conninfo: fx.conninfo(`sslmode=verify-full sslrootcert=${fx.gw.caFile}`).replace('sslmode=require ', '') });
    expect(full.status, full.stderr).toBe(0);
    expect(full.stdout.trim()).toBe('42');
  });

  it('lets an admin check the target: a real login with the vaulted password', () => {
    const r = JSON.parse(fx.gw.admin(['target', 'test', 'orders-db', '--json']).stdout) as { ok: boolean; login: string };
    expect(r).toMatchObject({ ok: true, login: 'ok' });
  });

  it('runs several statements in one -c and reports each result', () => {
    const r = fx.psql(['-c', 'create table items(id int primary key, name text); insert into items values (1, \'a\'), (2, \'b\'); select count(*) from items;']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/count\s*\n-+\n\s+2/);
  });

  it('rolls back a transaction after an error', () => {
    const r = fx.psql(['-v', 'ON_ERROR_STOP=0', '-c', 'begin', '-c', "insert into items values (3, 'c')", '-c', 'insert into items values (1, \'dup\')', '-c', 'rollback', '-c', 'select count(*) from items']);
    expect(r.stderr).toMatch(/duplicate key value violates unique constraint/);
    expect(r.stdout).toMatch(/ROLLBACK[\s\S]*\s2\n/);
  });

  it('copies 100,000 rows in and out with \\copy', async () => {
    const dir = tempDir('copy');
    const src = join(dir, 'in.csv');
    writeFileSync(src, Array.from({ length: 100_000 }, (_, i) => `${i},name-${i}`).join('\n') + '\n');
    expect(fx.psql(['-c', 'create table big(id int, name text)']).status).toBe(0);
    const copyIn = fx.psql(['-c', `\\copy big from '${src}' csv`]);
    expect(copyIn.status, copyIn.stderr).toBe(0);
    expect(copyIn.stdout).toMatch(/COPY 100000/);
    const out = join(dir, 'out.csv');
    const copyOut = fx.psql(['-c', `\\copy (select * from big order by id) to '${out}' csv`]);
    expect(copyOut.status, copyOut.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(src, 'utf8'));
    await waitFor('copy records', () => fx.statements().some((s) => s.copy?.direction === 'out'), 5000);
    const recs = fx.statements();
    const inRec = recs.find((s) => s.sql.startsWith('COPY  big FROM STDIN') || /copy big from stdin/i.test(s.sql));
    expect(inRec).toMatchObject({ rows_affected: 100000, rows_returned: null, copy: { direction: 'in' } });
    expect(inRec!.copy!.bytes).toBeGreaterThan(1_000_000);
    expect(recs.some((s) => s.copy?.direction === 'out' && s.rows_returned === 100000)).toBe(true);
  });

  it('records every statement with its command tag, row counts and errors', async () => {
    fx.psql(['-v', 'ON_ERROR_STOP=0', '-c', 'select * from items order by id', '-c', 'select 1/0']);
    // The recording is closed just after the client leaves.
    await waitFor('statement records', () => fx.statements().some((s) => s.sql === 'select 1/0'), 5000);
    const recs = fx.statements();
    expect(recs).toEqual(expect.arrayContaining([
      expect.objectContaining({ sql: 'select * from items order by id', path: 'simple', command: 'SELECT 2', rows_returned: 2, rows_affected: null }),
      expect.objectContaining({ sql: 'select 1/0', error: { sqlstate: '22012', code: null, message: 'division by zero' } }),
      expect.objectContaining({ command: 'INSERT 0 2', rows_affected: 2, rows_returned: null }),
    ]));
  });

  it('records function calls (psql \\lo_import runs the large-object functions through FunctionCall)', async () => {
    const src = join(tempDir('lo'), 'blob.bin');
    writeFileSync(src, Buffer.alloc(70_000, 7));
    const r = fx.psql(['-c', `\\lo_import '${src}'`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/lo_import \d+/);
    // Records reach the file as the statements end: wait for the last call, not the first.
    await waitFor('function call records', () => fx.statements().some((s) => s.function_name === 'lo_close(integer)'), 5000);
    const calls = fx.statements().filter((s) => s.path === 'function-call');
    expect(calls.every((s) => typeof s.function_oid === 'number' && s.sql.startsWith(`/* FunctionCall, oid ${s.function_oid} */ SELECT pg_catalog.lo`)
      && s.error === null && typeof s.result_bytes === 'number')).toBe(true);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    // libpq looks the large-object functions' OIDs up, then calls them by OID: the gateway names them.
    expect(calls.map((s) => s.function_name)).toEqual(expect.arrayContaining(['lo_open(oid, integer)', 'lowrite(integer, bytea)', 'lo_close(integer)']));
  });

  it('shows a session\'s statements with session show, recordings made before the schema was versioned upgraded', async () => {
    expect(fx.psql(['-c', 'select 40 + 2 as answer']).status).toBe(0);
    const root = recordingsRoot(fx.gw.dataDir);
    const closedWithIt = (d: string): boolean => {
      const layout = RecordingLayout.of(root, d);
      try {
        return readFileSync(layout.statements, 'utf8').includes('select 40 + 2') && Boolean(readRecordingMeta(layout.meta)?.end_reason);
      } catch { return false; }
    };
    await waitFor('the session recorded and closed', () => readdirSync(root).some(closedWithIt), 5000);
    const id = readdirSync(root).find(closedWithIt)!;
    const text = fx.gw.admin(['session', 'show', id]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/AT +MS +PATH +RETURNED +AFFECTED +RESULT +SQL/);
    expect(text.stdout).toMatch(/simple +1 +- +SELECT 1 +select 40 \+ 2 as answer/);
    const shown = (): { statements: StatementRecord[] } => JSON.parse(fx.gw.admin(['session', 'show', id, '--json']).stdout) as { statements: StatementRecord[] };
    expect(shown().statements).toEqual([expect.objectContaining({ v: 1, protocol: 'postgres', sql: 'select 40 + 2 as answer', rows_returned: 1, rows_affected: null, error: null })]);
    // The same session as an older gateway wrote it: no version, `rows` from the tag, string error codes.
    writeFileSync(RecordingLayout.of(root, id).statements, [
      { t: '2026-11-20T09:00:00.000Z', duration_ms: 2, sql: 'update items set n = 1', path: 'simple', command: 'UPDATE 2', rows: 2 },
      { t: '2026-11-20T09:00:01.000Z', duration_ms: 1, sql: 'select 1/0', path: 'simple', error: { code: '22012', message: 'division by zero' } },
    ].map((r) => JSON.stringify(r) + '\n').join(''));
    expect(shown().statements).toEqual([
      expect.objectContaining({ v: 1, sql: 'update items set n = 1', rows_returned: null, rows_affected: 2, error: null }),
      expect.objectContaining({ v: 1, sql: 'select 1/0', rows_returned: null, rows_affected: null, error: { sqlstate: '22012', code: null, message: 'division by zero' } }),
    ]);
  });

  it('refuses a wrong password with 28P01, a missing grant and a malformed user with 28000, and plaintext with a hint', () => {
    const wrong = fx.psql(['-c', 'select 1'], { password: 'nope' });
    expect(wrong.stderr).toMatch(/FATAL: {2}password authentication failed for user "dba"/);
    const noTarget = fx.psql(['-c', 'select 1'], { conninfo: fx.conninfo().replace('user=dba+orders-db', 'user=dba') });
    expect(noTarget.stderr).toMatch(/FATAL: {2}connect as USER\+TARGET/);
    fx.gw.admin(['target', 'add', 'other-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(fx.pg.port), '--account', 'app', ...tlsCaArgs(), '--password-stdin'], `${DB_PASSWORD}\n`);
    const noGrant = fx.psql(['-c', 'select 1'], { conninfo: fx.conninfo().replace('orders-db', 'other-db') });
    expect(noGrant.stderr).toMatch(/FATAL: {2}no active grant for dba on other-db; request one with: portcullis request other-db/);
    const plain = fx.psql(['-c', 'select 1'], { conninfo: fx.conninfo().replace('sslmode=require', 'sslmode=disable') });
    expect(plain.stderr).toMatch(/FATAL: {2}Portcullis requires TLS\nHINT: {2}connect with sslmode=require/);
  });

  it('never shows the vaulted password to the client, in the recording or in the logs', () => {
    const r = fx.psql(['-c', 'select current_setting(\'application_name\')', '-c', '\\conninfo']);
    const root = recordingsRoot(fx.gw.dataDir);
    // The session that just ended may still be replacing its meta.json (a .tmp file renamed into
    // place): a file listed and gone when read is skipped, its final name holds the same text.
    const readIfThere = (f: string): string => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
    const recordings = readdirSync(root).map((d) => readdirSync(join(root, d)).map((f) => readIfThere(join(root, d, f))).join('\n')).join('\n');
    for (const text of [r.stdout, r.stderr, recordings, fx.gw.log(), fx.gw.admin(['audit', 'export']).stdout]) {
      expect(text).not.toContain(DB_PASSWORD);
    }
  });
});
