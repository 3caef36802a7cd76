// KILL through Portcullis with the real mariadb client (and mysql2 for the binary protocol) against
// a real MariaDB, two gateway users sharing the target account: user A tries every spelling that
// once killed another connection of the shared account — each is refused in MySQL words and
// recorded as gated, and B's session lives on — while A can still kill its own sessions in any
// spelling (mapped to its upstream thread).
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, run, waitFor } from '../harness/common.js';
import { DBA_PASSWORD, type MyFixture, SHOP_PASSWORD, startMyFixture } from '../harness/my-fixture.js';

const OPS_PASSWORD = 'ops-Password-2';

let fx: MyFixture;
let b: mysql.Connection;
/** B's gateway connection id (what its client was told) and its thread id on the target. */
let bGw = 0;
let bUp = 0;
/** A connection of the shared account that is not a gateway session at all (an application's). */
let direct: mysql.Connection;
let directId = 0;

const connect = (user: string, password: string, opts: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> => mysql.createConnection({
  host: '127.0.0.1', port: fx.gw.ports.mysql, user, password, database: 'shop', ssl: { ca: readFileSync(fx.gw.caFile, 'utf8') }, ...opts,
});

/** The mariadb client as user A (dba), one `-e` script; `--comments` keeps comments as typed. */
function asA(sql: string, extra: string[] = []): { status: number; stdout: string; stderr: string } {
  return run(requireBinary('mariadb-client', 'mariadb'), ['--no-defaults', '-h', '127.0.0.1', '-P', String(fx.gw.ports.mysql), '-u', 'dba+shop-db',
    `-p${DBA_PASSWORD}`, '--ssl', '--batch', '--comments', ...extra, '-e', sql]);
}

const threads = (): string => fx.db.sql("SELECT id FROM information_schema.processlist WHERE user = 'shopapp' ORDER BY id");

beforeAll(async () => {
  fx = await startMyFixture();
  fx.grant('30m');
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  must(fx.gw.admin(['user', 'add', 'ops', '--role', 'dba', '--password-stdin'], `${OPS_PASSWORD}\n`));
  must(fx.gw.admin(['grant', 'add', '--user', 'ops', '--target', 'shop-db', '--for', '30m', '--reason', 'test']));
  b = await connect('ops+shop-db', OPS_PASSWORD);
  bGw = b.threadId!;
  const [rows] = await b.query('SELECT CONNECTION_ID() AS id');
  bUp = (rows as Array<{ id: number }>)[0]!.id;
  expect(bGw).not.toBe(bUp);
  direct = await mysql.createConnection({ host: '127.0.0.1', port: fx.db.port, user: 'shopapp', password: SHOP_PASSWORD, database: 'shop' });
  directId = direct.threadId!;
}, 120_000);

afterAll(async () => {
  await b?.end().catch(() => {});
  await direct?.end().catch(() => {});
  await fx?.stop();
});

describe('KILL through Portcullis', () => {
  it('refuses every spelling that would end another user\'s session, records each as gated, and B lives on', async () => {
    const before = threads();
    const attempts: Array<[string, RegExp]> = [];
    for (const id of [bGw, bUp, directId]) {
      attempts.push(
        [`KILL ${id}`, /ERROR 1094/], [`KILL HARD QUERY ${id}`, /ERROR 1094/], [`KILL SOFT CONNECTION ${id}`, /ERROR 1094/],
        [`/*!KILL ${id}*/`, /ERROR 1094/], [`/*M!100000 KILL ${id}*/`, /ERROR 1094/], [`/* hi */ KILL /* there */ ${id}`, /ERROR 1094/],
        // One COM_QUERY carrying several statements (the client's own delimiter keeps them together).
        [`DELIMITER //\nSELECT 1; KILL ${id}//`, /ERROR 1094/],
        [`DELIMITER //\nSET sql_mode='NO_BACKSLASH_ESCAPES'; SELECT '\\\\'; KILL ${id}; -- '//`, /ERROR 1094/],
        [`EXECUTE IMMEDIATE 'KILL ${id}'`, /ERROR 1095 .*Portcullis: KILL inside PREPARE or EXECUTE IMMEDIATE is refused/],
        [`PREPARE s FROM 'KILL ${id}'`, /ERROR 1095/],
        [`SET @s = 'KILL ${id}'; PREPARE s FROM @s; EXECUTE s`, /ERROR 1095 .*PREPARE from anything but a string literal is refused/],
        [`EXECUTE IMMEDIATE CONCAT('KI', 'LL ${id}')`, /ERROR 1095/],
        [`CREATE PROCEDURE p_kill() KILL ${id}`, /ERROR 1094/],
      );
    }
    attempts.push(['KILL USER shopapp', /ERROR 1095 .*KILL USER is refused/], ['KILL QUERY ID 1', /ERROR 1095 .*KILL QUERY ID is refused/],
      ['CREATE PROCEDURE p_kill(x INT) KILL x', /ERROR 1095/], ["CALL sys.execute_prepared_stmt('SELECT 1')", /ERROR 1095/]);
    for (const [sql, want] of attempts) {
      const r = asA(sql);
      expect(r.stderr, sql).toMatch(want);
    }
    // GBK: U+4E01 is E4 B8 81 in UTF-8, and GBK reads 81 5C (81 60) as one character, so the
    // backslash escapes nothing (the backtick quotes nothing): the same text sent straight to
    // MariaDB with this client runs the KILL.
    for (const sql of [`DELIMITER //\nSELECT '\u4e01\\'; KILL ${bUp}; -- '//`, `DELIMITER //\nSELECT 1 AS \u4e01\`; KILL ${bUp}; -- \`//`]) {
      expect(asA(sql, ['--default-character-set=gbk']).stderr, sql).toMatch(/ERROR 1094/);
    }
    // mariadb-admin kill (COM_PROCESS_KILL or a KILL statement, as the client library chooses).
    const admin = run(requireBinary('mariadb-client', 'mariadb-admin'), ['--no-defaults', '-h', '127.0.0.1', '-P', String(fx.gw.ports.mysql), '-u', 'dba+shop-db',
      `-p${DBA_PASSWORD}`, '--ssl', 'kill', String(bUp)]);
    expect(admin.stderr + admin.stdout).toMatch(/1094|Unknown thread id/);

    // The binary protocol and big statements, through a stock driver.
    const a = await connect('dba+shop-db', DBA_PASSWORD, { multipleStatements: true, maxPreparedStatements: 4 });
    try {
      await expect(a.execute('KILL ?', [bUp])).rejects.toMatchObject({ errno: 1095 });
      await expect(a.prepare(`KILL ${bUp}`)).rejects.toMatchObject({ errno: 1094 });
      await expect(a.query(`SELECT 1; /*${'x'.repeat(2 * 1024 * 1024)}*/ KILL ${bUp}`)).rejects.toMatchObject({ errno: 1094 });
      // Two packets (a full 2^24-1 payload and its continuation), at exactly statements.maxBytes (16 MiB).
      const kill = `*/ KILL ${bUp}`;
      await expect(a.query(`SELECT 1; /*${'x'.repeat(16 * 1024 * 1024 - 'SELECT 1; /*'.length - kill.length)}${kill}`)).rejects.toMatchObject({ errno: 1094 });
      // Over the cap the statement is refused whatever it says (statement-too-large ends A's session).
      await expect(a.query(`SELECT 1; /*${'x'.repeat(17 * 1024 * 1024)}*/ KILL ${bUp}`)).rejects.toMatchObject({ errno: 1153 });
    } finally {
      a.destroy();
    }

    const [rows] = await b.query('SELECT 42 AS n');
    expect(rows).toEqual([{ n: 42 }]);
    const [still] = await direct.query('SELECT 43 AS n');
    expect(still).toEqual([{ n: 43 }]);
    expect(threads().split('\n')).toEqual(expect.arrayContaining([String(bUp), String(directId)]));
    expect(before.split('\n')).toContain(String(bUp));
    const gated = fx.gw.admin(['audit', 'export']).stdout.split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as { code: string; data: { rule?: string; command?: string } })
      .filter((e) => e.code === 'session.gated' && e.data.rule === 'builtin:thread-kill');
    expect(gated.length).toBeGreaterThanOrEqual(attempts.length + 6);
    expect(gated.map((e) => e.data.command)).toEqual(expect.arrayContaining([expect.stringContaining(`KILL SOFT CONNECTION ${bUp}`)]));
  }, 180_000);

  it('lets A end its own sessions in any spelling, mapped to their upstream threads', async () => {
    const a1 = await connect('dba+shop-db', DBA_PASSWORD);
    const sleeping = a1.query('SELECT SLEEP(30) AS s');
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    expect(asA(`/* stop it */ KILL HARD QUERY ${a1.threadId}`).stderr).toBe('');
    await expect(sleeping).rejects.toThrow(/Query execution was interrupted/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const [[{ up }]] = await a1.query('SELECT CONNECTION_ID() AS up') as unknown as [[{ up: number }]];
    expect(asA(`DELIMITER //\nSELECT 1; /*!KILL ${a1.threadId}*/ //`).stderr).toBe('');
    await waitFor('a1 to be gone', () => !threads().split('\n').includes(String(up)), 10_000);
    await expect(a1.query('SELECT 1')).rejects.toThrow();
    a1.destroy();
    await waitFor('the rewritten KILL in the statement log', () => fx.statements().some((s) => s.sql.includes(`/*!KILL ${up}*/`)), 5000);
  }, 60_000);
});
