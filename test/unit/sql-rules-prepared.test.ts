// A statement prepared before a deny rule was added must not run after it: PostgreSQL Bind and
// Execute (and MySQL COM_STMT_EXECUTE) carry the text they run to the gate, read again under the
// rules of now. Attacks: a named statement prepared before the rule, a portal bound before it and
// re-executed with a row limit, a name re-parsed with an innocent text (the server keeps the old
// one), and a flood of names past what the gateway holds.
import { beforeAll, describe, expect, it } from 'vitest';
import { PgClientGate } from '../../gateway/postgres/client-gate.js';
import { loadSqlParsers, sqlMatcher } from '../../gateway/rules/sql-matcher.js';
import { PreparedSql } from '../../gateway/rules/sql/prepared-sql.js';
import type { GateCommand, GateVerdict } from '../../gateway/session/gate.js';
import type { RuleRecord } from '../../gateway/store/records.js';
import { PgFrameReader } from '../../gateway/postgres/wire/frames.js';

beforeAll(async () => { await loadSqlParsers(); });

const int16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const msg = (type: string, ...body: Buffer[]): Buffer => { const b = Buffer.concat(body); return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]); };
const P = (name: string, sql: string): Buffer => msg('P', cstr(name), cstr(sql), int16(0));
const B = (portal: string, stmt: string): Buffer => msg('B', cstr(portal), cstr(stmt), int16(0), int16(0), int16(0));
const E = (portal: string, rows = 0): Buffer => msg('E', cstr(portal), int32(rows));
const C = (kind: 'S' | 'P', name: string): Buffer => msg('C', Buffer.from(kind), cstr(name));
const S = (): Buffer => msg('S');

const rule = (name: string, r: Partial<RuleRecord>): RuleRecord => ({
  id: name, name, kind: 'sql', class: null, match: null, action: 'deny', targets: [], roles: [], levels: [], message: null,
  unparsable: 'deny', createdAt: 0, createdBy: 'test', ...r,
});

/** A gate over a rule list that can change mid-session, as the rule book's can. */
function session(protocol: 'postgres' | 'mysql' = 'postgres') {
  let rules: RuleRecord[] = [rule('watch', { class: 'ddl', action: 'flag' })];
  let matcher = sqlMatcher(rules, protocol);
  const forwarded: string[] = [];
  const refused: string[] = [];
  const checked: string[] = [];
  const check = (cmd: GateCommand): GateVerdict => {
    if (cmd.kind === 'sql') checked.push(`${cmd.path}:${cmd.text}`);
    const hits = matcher.hits(cmd).filter((h) => h.why === 'matched' || h.rule.unparsable === 'deny');
    const d = hits.find((h) => h.rule.action === 'deny');
    if (d) return { verdict: 'deny', message: d.rule.name, rule: d.rule.name };
    return hits[0] ? { verdict: 'flag', label: hits[0].what, rule: hits[0].rule.name } : { verdict: 'allow' };
  };
  const gate = new PgClientGate({
    check,
    forward: (b) => new PgFrameReader((m) => forwarded.push(m.type)).push(b),
    refuse: (type, error) => refused.push(`${type}:${error.toString('latin1').match(/Portcullis: ([^\0]*)/)?.[1] ?? ''}`),
    logged: () => {},
  }, { maxMessage: 1 << 20, statementMax: 1 << 20 });
  return {
    gate, forwarded, refused, checked, check,
    send: (...m: Buffer[]): void => gate.push(Buffer.concat(m)),
    add: (r: RuleRecord): void => { rules = [...rules, r]; matcher = sqlMatcher(rules, protocol); },
  };
}

describe('statements prepared before a deny rule', () => {
  it('a named statement prepared before the rule is refused at Bind; the session goes on', () => {
    const s = session();
    s.send(P('s1', 'DELETE FROM orders'), S());
    expect(s.forwarded).toEqual(['P', 'S']);
    s.add(rule('no-unbounded', { class: 'unbounded-write' }));
    s.send(B('', 's1'), E(''), S());
    expect(s.refused).toEqual(['B:no-unbounded']);
    expect(s.forwarded).toEqual(['P', 'S', 'S']);
    expect(s.checked.at(-1)).toBe('bind:DELETE FROM orders');
    s.send(P('s2', 'DELETE FROM orders WHERE id = $1'), B('', 's2'), E(''), S());
    expect(s.forwarded.slice(3)).toEqual(['P', 'B', 'E', 'S']);
  });

  it('a portal bound before the rule and executed a row at a time is refused at its next Execute', () => {
    const s = session();
    s.send(P('', 'select pg_terminate_backend(pid) from pg_stat_activity'), B('p1', ''), E('p1', 1), S());
    expect(s.forwarded).toEqual(['P', 'B', 'E', 'S']);
    s.add(rule('no-kill', { class: 'function:pg_terminate_backend' }));
    s.send(E('p1', 1), S());
    expect(s.refused).toEqual(['E:no-kill']);
  });

  it('re-parsing a name with an innocent text does not hide the text the server kept', () => {
    const s = session();
    // The second Parse fails at the server (42P05: the name is in use): s1 still deletes.
    s.send(P('s1', 'DELETE FROM orders'), S(), P('s1', 'select 1'), S());
    s.add(rule('no-unbounded', { class: 'unbounded-write' }));
    s.send(B('', 's1'), E(''), S());
    expect(s.refused).toEqual(['B:no-unbounded']);
    // After a Close the name is free: a new text is the only one.
    s.send(C('S', 's1'), S(), P('s1', 'select 1'), B('', 's1'), E(''), S());
    expect(s.refused).toEqual(['B:no-unbounded']);
  });

  it('the unnamed statement is the last one parsed; flag rules do not flag each run', () => {
    const s = session();
    s.send(P('', 'create table t(x int)'), S());
    const flagged = s.checked.length;
    s.send(P('', 'select 1'), B('', ''), E(''), S());
    s.add(rule('no-drop', { class: 'drop' }));
    s.send(B('', ''), E(''), S());
    expect(s.refused).toEqual([]);
    expect(flagged).toBe(1);
  });

  it('past the names it can hold, binding a name it no longer holds is refused', () => {
    const s = session();
    const many: Buffer[] = [];
    for (let i = 0; i <= 10_000; i++) many.push(P(`s${i}`, 'select 1'));
    s.send(...many, S());
    s.send(B('', 's0'), E(''), S());
    expect(s.refused[0]).toMatch(/^B:this prepared statement was dropped/);
    s.send(B('', 's10000'), E(''), S());
    expect(s.refused).toHaveLength(1);
  });

  it('MySQL: a COM_STMT_EXECUTE carries its prepared text; deny rules hit, flag rules do not', () => {
    const m = sqlMatcher([rule('no-truncate', { class: 'truncate' }), rule('watch', { class: 'ddl', action: 'flag' })], 'mysql');
    const hits = m.hits({ kind: 'sql', protocol: 'mysql', path: 'execute', text: 'TRUNCATE TABLE orders' });
    expect(hits.map((h) => h.rule.name)).toEqual(['no-truncate']);
    expect(m.hits({ kind: 'sql', protocol: 'mysql', path: 'execute', text: 'CREATE TABLE x(a int)' })).toEqual([]);
    expect(m.hits({ kind: 'sql', protocol: 'mysql', path: 'execute', text: '' })).toEqual([]);
  });

  it('PostgreSQL SQL PREPARE before the rule: EXECUTE (also in EXPLAIN ANALYZE, CREATE TABLE AS) is read as the PREPARE', () => {
    const memory = new PreparedSql();
    const q = (text: string): GateCommand => ({ kind: 'sql', protocol: 'postgres', path: 'simple', text });
    const before = sqlMatcher([rule('watch', { class: 'ddl', action: 'flag' })], 'postgres', memory);
    expect(before.hits(q('PREPARE wipe AS DELETE FROM orders'))).toEqual([]);
    expect(before.hits(q('prepare "Kill"(int) as select pg_terminate_backend($1)'))).toEqual([]);
    const after = sqlMatcher([rule('no-unbounded', { class: 'unbounded-write' }), rule('no-kill', { class: 'function:pg_terminate_backend' })], 'postgres', memory);
    expect(after.hits(q('EXECUTE wipe')).map((h) => h.rule.name)).toEqual(['no-unbounded']);
    expect(after.hits(q('explain analyze execute WIPE')).map((h) => h.rule.name)).toEqual(['no-unbounded']);
    expect(after.hits(q('create table x as execute wipe')).map((h) => h.rule.name)).toContain('no-unbounded');
    expect(after.hits(q('execute "Kill"(1)')).map((h) => h.rule.name)).toEqual(['no-kill']);
    expect(after.hits(q('execute kill(1)'))).toEqual([]);
    expect(after.hits(q('select 1'))).toEqual([]);
  });

  it("MySQL SQL PREPARE ... FROM 'literal' before the rule: EXECUTE is read as the prepared text", () => {
    const memory = new PreparedSql();
    const q = (text: string): GateCommand => ({ kind: 'sql', protocol: 'mysql', path: 'simple', text });
    const before = sqlMatcher([rule('watch', { class: 'grant', action: 'flag' })], 'mysql', memory);
    expect(before.hits(q("PREPARE Wipe FROM 'truncate table items'"))).toEqual([]);
    expect(before.hits(q("prepare `del` from 'delete from items'"))).toEqual([]);
    const after = sqlMatcher([rule('no-truncate', { class: 'truncate' }), rule('no-unbounded', { class: 'unbounded-write' })], 'mysql', memory);
    expect(after.hits(q('EXECUTE wipe')).map((h) => h.rule.name)).toEqual(['no-truncate']);
    expect(after.hits(q('execute `DEL`')).map((h) => h.rule.name)).toEqual(['no-unbounded']);
    expect(after.hits(q('execute other'))).toEqual([]);
  });
});
