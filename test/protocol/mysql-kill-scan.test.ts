// The KILL scanner against the spellings an attacker with a valid grant would try: every form of
// KILL is either found with the bytes of its thread id (which the relay rewrites) or refused, in
// every sql_mode and character set a session could switch to, and ordinary statements that only
// mention the words pass untouched.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type KillScan, mentionsKeyword, rewriteKills, scanKills } from '../../gateway/mysql/sql/kill-scan.js';

const scan = (sql: string | Buffer): KillScan => scanKills(typeof sql === 'string' ? Buffer.from(sql, 'latin1') : sql);
/** The thread ids found, in text order, or the refusal. */
const ids = (sql: string | Buffer): number[] | string => {
  const r = scan(sql);
  return r.kind === 'refuse' ? `refused: ${r.reason}` : r.kind === 'none' ? [] : r.targets.map((t) => t.id);
};
const refused = (sql: string | Buffer): boolean => scan(sql).kind === 'refuse';

describe('the KILL scanner', () => {
  it('lets statements that only mention the words pass', () => {
    for (const sql of ['select 1', 'select skill, killer from t', "insert into notes values ('kill 5', \"KILL 6\")", 'select `kill` from t',
      '/* kill 5 */ select 1', '-- kill 5\nselect 1', '# kill 5\nselect 1', "execute s using @a", 'deallocate prepare s',
      "prepare s from 'select ?'", "execute immediate 'select 1' using 2", 'select @kill_count', 'select prepared from t']) {
      expect(ids(sql), sql).toEqual([]);
    }
  });

  it('finds the thread id of every spelling of KILL that names one', () => {
    const cases: Array<[string, number[]]> = [
      ['KILL 5', [5]], ['kill query 5', [5]], ['KILL CONNECTION 5;', [5]], ['KILL HARD QUERY 5', [5]], ['KILL SOFT CONNECTION 5', [5]],
      ['KILL SOFT 5', [5]], ['/*!KILL 5*/', [5]], ['/*M!KILL 5*/', [5]], ['/*!50000 KILL 5*/', [5]], ['/*!50000KILL 5*/', [5]],
      ['/*M!100000KILL 5*/', [5]], ['select 1; kill 5', [5]], ['select 1;kill 5;select 2', [5]], ['/* c */ KILL /* c */ 5 -- x', [5]],
      ['KILL\n5\n', [5]], ['# c\nKILL 5', [5]], ['BEGIN NOT ATOMIC KILL 5; END', [5]], ['CREATE PROCEDURE p() KILL 5', [5]],
      ['KILL 0005', [5]], ['SELECT 1;\\NKILL 5', [5]], ['kill 7; kill query 8', [7, 8]], ['KILL /*!50000 QUERY */ 9', [9]], ['select 1e5KILL 5', [5]],
      // A statement that is skipped by one server and run by another: both readings count.
      ['KILL /*!99999 5; SELECT */ 6', [5, 6]],
    ];
    for (const [sql, want] of cases) expect(ids(sql), sql).toEqual(want);
  });

  it('refuses KILLs it cannot map: by user, by query id, by expression', () => {
    for (const sql of ['KILL USER shopapp', 'KILL CONNECTION USER shopapp', 'KILL QUERY ID 5', 'KILL 5+1', 'KILL @x', 'KILL (5)',
      'KILL CONNECTION_ID()', 'KILL 5 6', 'KILL 5.0', 'KILL -5', "KILL '5'", 'KILL 0x5', 'KILL', 'KILL ?', 'CREATE PROCEDURE p(x INT) KILL x',
      'CREATE EVENT e ON SCHEDULE AT NOW() DO KILL @x', 'KILL\u00a05', 'KILL 5\u00a0']) {
      expect(refused(sql), sql).toBe(true);
    }
  });

  it('refuses dynamic SQL that holds a KILL or could', () => {
    for (const sql of ["PREPARE s FROM 'KILL 5'", 'PREPARE s FROM @s', "PREPARE s FROM CONCAT('KI','LL 5')", "EXECUTE IMMEDIATE 'KILL 5'",
      "EXECUTE IMMEDIATE CONCAT('KILL ', 5)", 'EXECUTE IMMEDIATE @s', "execute immediate 'ki' 'll 5'", "PREPARE s FROM 'K\\ILL 5'",
      'prepare s from "KILL 5"', "PREPARE s FROM X'4B494C4C2035'", "PREPARE s FROM _latin1'select 1'", "PREPARE s FROM 'EXECUTE IMMEDIATE ''KILL 5'''",
      "CALL sys.execute_prepared_stmt('KILL 5')", "call `sys`.execute_prepared_stmt('select 1')", "PREPARE `s` FROM 'KILL 5'",
      "prepare s from '/*!KILL 5*/'", 'SET @s = 1; PREPARE s FROM @s', "PREPARE s FROM ('select 1')",
      "CREATE PROCEDURE p(q TEXT) BEGIN PREPARE s FROM q; EXECUTE s; END"]) {
      expect(refused(sql), sql).toBe(true);
    }
  });

  it('refuses BINLOG statements (base64 events run anything), not statements that only mention binlogs', () => {
    for (const sql of ["BINLOG 'AAAA'", "binlog 'x'", "SELECT 1; BINLOG 'x'", "/*!BINLOG 'x'*/", "/*!99999 SELECT 1; */ BINLOG 'x'", "PREPARE s FROM 'BINLOG ''x'''"]) {
      expect(refused(sql), sql).toBe(true);
    }
    for (const sql of ['SHOW BINLOG EVENTS', 'SELECT @@binlog_format', "SELECT 'binlog'", 'SHOW BINARY LOGS']) {
      expect(refused(sql), sql).toBe(false);
    }
  });

  it('reads a statement as a server in another sql_mode would', () => {
    // Backslash escapes switched off part-way: the server sees `SELECT '\'` then KILL 5.
    expect(ids("SELECT '\\'' ; SET sql_mode=NO_BACKSLASH_ESCAPES; SELECT '\\'; KILL 5; -- '")).toEqual([5]);
    expect(ids("SELECT '\\'; KILL 5; -- '")).toEqual([5]);
    // ANSI_QUOTES: "\" is a whole identifier.
    expect(ids('SELECT "\\"; KILL 5; -- "')).toEqual([5]);
  });

  it('reads a statement as a server with a double-byte client character set would', () => {
    const gbk = (s: string): Buffer => Buffer.from(s.replace('\u00bf', '\u00bf'), 'latin1');
    // 0xBF 0x5C is one GBK character: the backslash escapes nothing and the quote ends the string.
    expect(ids(gbk("SELECT '\u00bf\\'; KILL 5; -- '"))).toEqual([5]);
    // 0xBF 0x60 is one character: no quoted identifier starts.
    expect(ids(gbk('SELECT 1 AS \u00bf`; KILL 5; -- `'))).toEqual([5]);
    // A lead byte swallowing a letter leaves KILL standing alone.
    expect(ids(gbk('SELECT 1; \u00bfxKILL 5'))).not.toEqual([]);
  });

  it('reads versioned comments both as run and as skipped', () => {
    expect(ids("/*!99999 ' */ KILL 5; -- '")).toEqual([5]);
    expect(ids("/*M!999999 /* nested */ ' */ KILL 5; -- '")).toEqual([5]);
    // MySQL reads /*M! as a plain comment that ends at the first */.
    expect(ids('/*M!999999 /* x */ KILL 5; -- */')).toEqual([5]);
  });

  it('refuses what reads differently in character sets it cannot tell apart', () => {
    expect(refused(Buffer.from("SELECT 1 --\u00a0'\n; KILL 5; -- '", 'latin1'))).toBe(true);
    expect(ids(Buffer.from('SELECT 1;\u00a0KILL 5', 'latin1'))).toEqual([5]);
  });

  it('sees a KILL behind any amount of padding', () => {
    expect(ids(`KILL 5 /*${'x'.repeat(100_000)}*/`)).toEqual([5]);
    expect(ids(`select '${'y'.repeat(100_000)}'; KILL 6`)).toEqual([6]);
  });

  it('refuses a text too costly to read, and stays fast on a big ordinary one', () => {
    expect(refused(`KILL ${'/*!50000 */'.repeat(200)} 5`)).toBe(true);
    const big = Buffer.from(`insert into t values ${Array.from({ length: 50_000 }, (_, i) => `(${i}, 'skills\\' and prepared ${i}')`).join(',')}`);
    const t0 = performance.now();
    expect(ids(big)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('rewrites exactly the thread ids and nothing else', () => {
    const text = Buffer.from('/*!KILL 5*/; kill query 0007 -- bye');
    const r = scanKills(text);
    expect(r.kind).toBe('kills');
    if (r.kind !== 'kills') return;
    expect(rewriteKills(text, r.targets, (id) => id * 1000).toString()).toBe('/*!KILL 5000*/; kill query 7000 -- bye');
  });

  it('never misses a KILL because of where a keyword check starts (property)', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom('KILL', 'kill', 'KiLl', 'PREPARE', 'Execute'), fc.string(), (a, k, b) => {
      expect(mentionsKeyword(Buffer.from(a + k + b, 'latin1'))).toBe(true);
    }));
  });
});
