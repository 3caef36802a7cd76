// SQL rules on parse trees, without sockets: statement facts for PostgreSQL (libpg-query) and
// MySQL/MariaDB (lexer + node-sql-parser), evasion attempts, the prefilter, the parse cap, and the
// matcher's hits for class, function and --match rules and for FunctionCall messages.
import { beforeAll, describe, expect, it } from 'vitest';
import { analysis, loadSqlParsers, sqlMatcher } from '../../gateway/rules/sql-matcher.js';
import { prefilterFor } from '../../gateway/rules/sql/prefilter.js';
import { functionCallText } from '../../gateway/postgres/function-names.js';
import type { RuleRecord } from '../../gateway/store/records.js';

beforeAll(async () => { await loadSqlParsers(); });

const rule = (name: string, r: Partial<RuleRecord>): RuleRecord => ({
  id: name, name, kind: 'sql', class: null, match: null, action: 'deny', targets: [], roles: [], levels: [], message: null,
  unparsable: 'deny', createdAt: 0, createdBy: 'test', ...r,
});

/** Classes and functions of a text, as `class` and `fn:name` strings; `unparsable` when some part could not be read. */
function facts(text: string, protocol: 'postgres' | 'mysql'): string[] {
  const a = analysis(text, protocol);
  const out = new Set<string>();
  for (const s of a.statements) {
    for (const c of s.classes) out.add(c);
    for (const f of s.functions) out.add(`fn:${f}`);
  }
  if (a.unparsable !== null) out.add('unparsable');
  return [...out].sort();
}
const has = (text: string, protocol: 'postgres' | 'mysql', want: string[]): void => {
  const got = facts(text, protocol);
  for (const w of want) expect(got, `${text} → ${got.join(',')}`).toContain(w);
};
const hasNot = (text: string, protocol: 'postgres' | 'mysql', not: string[]): void => {
  const got = facts(text, protocol);
  for (const w of not) expect(got, `${text} → ${got.join(',')}`).not.toContain(w);
};

describe('PostgreSQL statement facts', () => {
  const pg = (text: string, want: string[], not: string[] = []): void => { has(text, 'postgres', want); hasNot(text, 'postgres', not); };
  it('classes of plain statements', () => {
    pg('DROP TABLE orders', ['ddl', 'drop'], ['unparsable']);
    pg('drop database x', ['drop']);
    pg('DROP OWNED BY bob', ['drop']);
    pg('drop role bob', ['drop', 'grant']);
    pg('ALTER TABLE t DROP COLUMN a', ['ddl', 'drop']);
    pg('ALTER TABLE t ADD COLUMN a int', ['ddl'], ['drop']);
    pg('TRUNCATE t', ['truncate', 'ddl']);
    pg('CREATE INDEX i ON t (a)', ['ddl']);
    pg('COMMENT ON TABLE t IS $$x$$', ['ddl']);
    pg('REINDEX TABLE t', ['ddl']);
    pg('ALTER TABLE t RENAME TO u', ['ddl']);
    pg('SELECT * INTO newt FROM t', ['ddl']);
    pg('GRANT SELECT ON t TO bob', ['grant'], ['ddl']);
    pg('REVOKE admin FROM bob', ['grant']);
    pg('ALTER ROLE bob SUPERUSER', ['grant']);
    pg("ALTER USER bob PASSWORD 'x'", ['grant']);
    pg('ALTER ROLE bob SET search_path = x', ['grant']);
    pg('ALTER ROLE bob RENAME TO eve', ['grant']);
    pg('CREATE USER eve', ['grant']);
    pg('ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob', ['grant']);
    pg("COPY t FROM PROGRAM 'id'", ['copy-program']);
    pg("COPY t TO '/tmp/x'", ['copy-program']);
    pg('COPY t FROM STDIN', [], ['copy-program']);
    pg('COPY (select 1) TO STDOUT', [], ['copy-program']);
    pg("ALTER SYSTEM SET work_mem = '1GB'", ['alter-system']);
    pg('SELECT 1', [], ['ddl', 'unparsable']);
  });
  it('unbounded writes', () => {
    pg('DELETE FROM t', ['unbounded-write']);
    pg('UPDATE t SET a = 1', ['unbounded-write']);
    pg('DELETE FROM t WHERE true', ['unbounded-write']);
    pg('DELETE FROM t WHERE 1=1', ['unbounded-write']);
    pg('DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = 1)', ['unbounded-write']);
    pg('DELETE FROM t WHERE id = 1', [], ['unbounded-write']);
    pg('DELETE FROM t WHERE id IN (SELECT id FROM u)', [], ['unbounded-write']);
    pg('UPDATE t SET a = 1 WHERE CURRENT OF c', [], ['unbounded-write']);
  });
  it('nested statements count', () => {
    pg('WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', ['unbounded-write']);
    pg('EXPLAIN ANALYZE DELETE FROM t', ['unbounded-write']);
    pg('PREPARE p AS DELETE FROM t', ['unbounded-write']);
    pg('CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u', ['ddl', 'unbounded-write']);
    pg('select 1; drop table t', ['drop']);
    pg('select 1 /* ; */ ; -- x\n DrOp /* c */ TaBlE "t"', ['drop']);
    pg('COPY (DELETE FROM t RETURNING *) TO STDOUT', ['unbounded-write'], ['copy-program']);
    pg("SELECT * FROM dblink('dbname=x', 'DROP TABLE t') AS r(a text)", ['drop']);
    pg("SELECT dblink_exec(current_setting('x'))", ['unparsable']);
    pg("CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN TRUNCATE t; END $$", ['truncate']);
    pg("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS E'SELECT pg_terminate_backend(1)'", ['fn:pg_terminate_backend']);
  });
  it('function calls anywhere, schema dropped, lower case', () => {
    pg('SELECT pg_catalog.pg_terminate_backend(123)', ['fn:pg_terminate_backend']);
    pg('SELECT PG_TERMINATE_BACKEND(pid) FROM pg_stat_activity', ['fn:pg_terminate_backend']);
    pg('SELECT "pg_terminate_backend"(1)', ['fn:pg_terminate_backend']);
    pg('SELECT U&"pg_termin\\0061te_backend"(1)', ['fn:pg_terminate_backend']);
    pg('SELECT * FROM pg_terminate_backend(1)', ['fn:pg_terminate_backend']);
    pg('CALL pg_terminate_backend(1)', ['fn:pg_terminate_backend']);
    pg('CREATE TABLE t (a int DEFAULT pg_terminate_backend(1)::int)', ['fn:pg_terminate_backend']);
    pg('SELECT 1 WHERE pg_sleep(1) IS NULL', ['fn:pg_sleep']);
    pg('CREATE OPERATOR !!! (function = pg_terminate_backend, leftarg = int, rightarg = bigint)', ['fn:pg_terminate_backend']);
    pg("CREATE FUNCTION k(int, bigint) RETURNS bool LANGUAGE internal AS 'pg_terminate_backend'", ['fn:pg_terminate_backend']);
    pg("SELECT query_to_xml('select pg_terminate_backend(1)', true, true, '')", ['fn:pg_terminate_backend']);
    pg("SELECT query_to_xml(x, true, true, '') FROM t", ['unparsable']);
  });
  it('function bodies and DO blocks are code', () => {
    pg('CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ DELETE FROM t; SELECT 1 $$', ['ddl', 'unbounded-write']);
    pg('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC DELETE FROM t; SELECT 1; END', ['unbounded-write']);
    pg('CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$', ['drop']);
    pg('DO $$ BEGIN PERFORM pg_terminate_backend(1); END $$', ['fn:pg_terminate_backend'], ['unparsable']);
    pg('DO $$ DECLARE x int := 1; BEGIN x := pg_cancel_backend(x); TRUNCATE t; END $$', ['fn:pg_cancel_backend', 'truncate'], ['unparsable']);
    pg("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", ['drop'], ['unparsable']);
    pg("DO $$ BEGIN EXECUTE 'DR' || 'OP TABLE t'; END $$", ['unparsable']);
    pg("DO E'BEGIN EXECUTE format(\\'DROP TABLE %I\\', \\'t\\'); END'", ['unparsable']);
    pg('DO LANGUAGE plpython3u $$ plpy.execute("drop table t") $$', ['unparsable']);
    pg("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym'", ['unparsable']);
  });
  it('bad input: empty, garbage, Unicode, deep nesting', () => {
    expect(facts('', 'postgres')).toEqual([]);
    expect(facts('  -- only a comment', 'postgres')).toEqual([]);
    pg('DROP TABLE ünïcödé_表', ['drop']);
    pg('this is not sql', ['unparsable']);
    pg('\u0001\uffff', ['unparsable']);
    pg(`SELECT ${'('.repeat(20000)}1${')'.repeat(20000)}`, ['unparsable']);
    pg(`SELECT 1${'+1'.repeat(20000)}`, ['unparsable']);
  });
});

describe('MySQL/MariaDB statement facts', () => {
  const my = (text: string, want: string[], not: string[] = []): void => { has(text, 'mysql', want); hasNot(text, 'mysql', not); };
  it('classes', () => {
    my('TRUNCATE TABLE t', ['truncate', 'ddl']);
    my('drop table t', ['drop']);
    my('DROP USER bob', ['drop', 'grant']);
    my("CREATE USER bob IDENTIFIED BY 'x'", ['grant', 'ddl']);
    my('ALTER TABLE t DROP COLUMN a', ['drop', 'ddl']);
    my('RENAME TABLE a TO b', ['ddl']);
    my('GRANT ALL ON *.* TO bob', ['grant']);
    my("SET PASSWORD FOR bob = PASSWORD('x')", ['grant']);
    my("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t", ['copy-program']);
    my("SELECT * FROM t INTO OUTFILE '/tmp/x'", ['copy-program']);
    my("SELECT * INTO DUMPFILE '/tmp/x' FROM t", ['copy-program']);
    my('SET GLOBAL max_connections = 10', ['alter-system']);
    my('SET @@global.max_connections = 10', ['alter-system']);
    my('SET SESSION a = 1, GLOBAL b = 2', ['alter-system']);
    my('SET NAMES utf8mb4', [], ['unparsable', 'alter-system']);
    my('SELECT 1', [], ['unparsable']);
  });
  it('unbounded writes', () => {
    my('DELETE FROM t', ['unbounded-write']);
    my('UPDATE t SET a = 1', ['unbounded-write']);
    my('UPDATE t SET a = (SELECT 1 FROM u WHERE u.x = 1)', ['unbounded-write']);
    my('DELETE FROM t WHERE 1=1', ['unbounded-write']);
    my('DELETE FROM t WHERE id = 1', [], ['unbounded-write']);
    my('SELECT * FROM t FOR UPDATE', [], ['unbounded-write']);
    my('INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1', [], ['unbounded-write']);
    my('ANALYZE DELETE FROM t', ['unbounded-write']);
    // Over the parser's 4 KiB the lexer decides: a WHERE that names no column bounds nothing.
    my(`DELETE FROM t WHERE 1 OR '${'x'.repeat(5000)}'`, ['unbounded-write']);
    my(`DELETE FROM t WHERE id = 1 OR name = '${'x'.repeat(5000)}'`, [], ['unbounded-write']);
    my('ALTER TABLE t TRUNCATE PARTITION p1', ['truncate']);
    my('WITH x AS (SELECT 1) DELETE FROM t', ['unbounded-write']);
  });
  it('executable comments are code, plain comments are not', () => {
    my('/*!40101 DROP TABLE t */', ['drop']);
    my('/*!DROP TABLE t*/', ['drop']);
    my('/*M!100100 TRUNCATE t */', ['truncate']);
    my('SELECT 1 /*!, pg_sleep(1) */', ['fn:pg_sleep']);
    my('/* DROP TABLE t */ SELECT 1', [], ['drop']);
    my('# DROP TABLE t\nSELECT 1', [], ['drop']);
    my('SELECT 1 -- ; DROP TABLE t', [], ['drop']);
  });
  it('multi-statement, case, quoting, strings', () => {
    my('select 1; drop table t', ['drop']);
    my('SeLeCt 1;TrUnCaTe t;', ['truncate']);
    my("SELECT 'x; drop table t'", [], ['drop']);
    my("SELECT 'a\\'; DROP TABLE t; -- '", ['drop']); // read without backslash escapes (NO_BACKSLASH_ESCAPES) the DROP runs
    my('SELECT SLEEP(1), mydb.F(2), `sleep`(3)', ['fn:sleep', 'fn:f']);
  });
  it('dynamic SQL: literals are read, computed text cannot be seen', () => {
    my("PREPARE s FROM 'DROP TABLE t'", ['drop']);
    my("EXECUTE IMMEDIATE 'TRUNCATE t'", ['truncate']);
    my("PREPARE s FROM @q", ['unparsable']);
    my("EXECUTE IMMEDIATE CONCAT('DR', 'OP TABLE t')", ['unparsable']);
    my("PREPARE s FROM 'DR' 'OP TABLE t'", ['unparsable']);
    my('EXECUTE s', [], ['unparsable']);
  });
  it('compound statements are read keyword by keyword', () => {
    my('CREATE PROCEDURE p() BEGIN DROP TABLE t; DELETE FROM u; END', ['ddl', 'drop', 'unbounded-write'], ['unparsable']);
    my('BEGIN NOT ATOMIC TRUNCATE t; END', ['truncate'], ['unparsable']);
    my('IF 1 THEN DROP TABLE t; END IF', ['unparsable']);
  });
  it('bad input', () => {
    expect(facts('', 'mysql')).toEqual([]);
    my('frobnicate the database', ['unparsable']);
    my('DROP TABLE ünïcödé_表', ['drop']);
  });
});

describe('the matcher', () => {
  const rules = [
    rule('no-drop', { class: 'drop' }),
    rule('no-kill', { class: 'function:pg_terminate_backend' }),
    rule('flag-secret', { match: 'secret_table', action: 'flag', unparsable: 'allow' }),
  ];
  it('hits class, function and match rules; unparsable for every rule not matched', () => {
    const m = sqlMatcher(rules, 'postgres');
    const sql = (text: string, path: 'simple' | 'parse' = 'simple') => m.hits({ kind: 'sql', protocol: 'postgres', path, text }).map((h) => `${h.rule.name}:${h.why}`);
    expect(sql('DROP TABLE t')).toEqual(['no-drop:matched']);
    expect(sql('select pg_terminate_backend(1)', 'parse')).toEqual(['no-kill:matched']);
    expect(sql('SELECT * FROM   /* x */ secret_table')).toEqual(['flag-secret:matched']);
    expect(sql('select 1')).toEqual([]);
    // --match rules without a class word: normalized text only, no parse (so no unparsable hits).
    expect(sql('select * from -- x\n secret_table where')).toEqual(['flag-secret:matched']);
    expect(sql('garbage here')).toEqual([]); // no word a class needs: not parsed
    expect(sql('garbage drop here')).toEqual(['no-drop:unparsable', 'no-kill:unparsable', 'flag-secret:unparsable']);
    expect(m.hits({ kind: 'sql', protocol: 'postgres', path: 'bind', text: 'portal "" statement "s"' })).toEqual([]);
  });
  it('a FunctionCall is named by OID; an unknown one is unparsable for function rules only', () => {
    const m = sqlMatcher(rules, 'postgres');
    const fc = (oid: number, args: string[] = []) => m.hits({ kind: 'sql', protocol: 'postgres', path: 'function-call', text: functionCallText(oid, args), functionOid: oid }).map((h) => `${h.rule.name}:${h.why}`);
    expect(fc(2096, ["'123'", "'0'"])).toEqual(['no-kill:matched']);
    expect(fc(964, ["'16400'"])).toEqual([]);
    expect(fc(16500)).toEqual(['no-kill:unparsable']);
    // query_to_xml (2924) runs its first argument: SQL inside a FunctionCall is read too.
    expect(fc(2924, ["'select pg_terminate_backend(1)'", "'true'", "'false'", "''"])).toEqual(['no-kill:matched']);
  });
  it('a 10 MB statement is unparsable within bounded time, never parsed', () => {
    const m = sqlMatcher([rule('no-drop', { class: 'drop' })], 'mysql');
    const big = 'INSERT INTO t VALUES ' + '(1, \'drop\'),'.repeat(900_000) + '(1, 2)';
    const t0 = performance.now();
    expect(m.hits({ kind: 'sql', protocol: 'mysql', path: 'simple', text: big }).map((h) => h.why)).toEqual(['unparsable']);
    // Not parsed at all (over the cap): milliseconds alone; the bound leaves room for a loaded CI machine.
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('the prefilter', () => {
  it('skips statements no rule can match and parses anything that can hide a word', () => {
    const pf = prefilterFor([rule('a', { class: 'drop' }), rule('b', { class: 'function:pg_sleep' })], 'postgres');
    expect(pf.test('SELECT abalance FROM pgbench_accounts WHERE aid = $1')).toBe(false);
    for (const s of ['DROP TABLE t', 'select pg_sleep(1)', 'select U&"\\0064rop"', "DO E'x'", 'DO $$ begin execute x; end $$']) expect(pf.test(s), s).toBe(true);
    expect(prefilterFor([rule('m', { match: 'x' })], 'postgres').test('select x')).toBe(false);
  });
});
