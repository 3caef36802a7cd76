// The rule gate between the rule book and a session's gate: scope (target name, tag:, role, level),
// deny over flag whatever the order, the per-rule unparsable setting, rules added or removed while a
// session runs, pass-through only for a session whose kind of rule did not exist at its start, a
// matcher that throws failing closed, and a message from the store cleaned before it is shown.
import { describe, expect, it } from 'vitest';
import { RuleBook } from '../../gateway/rules/rule-book.js';
import { RuleGate, type MatcherFactories } from '../../gateway/rules/rule-gate.js';
import type { KindMatcher, RuleHit } from '../../gateway/rules/matcher.js';
import { Gate, type GateCommand, type GateSubject } from '../../gateway/session/gate.js';
import type { RuleRecord } from '../../gateway/store/records.js';

let n = 0;
function rule(over: Partial<RuleRecord>): RuleRecord {
  n++;
  return {
    id: `rul_${n}`, name: `r${n}`, kind: 'sql', class: null, match: 'drop', action: 'deny', targets: [], roles: [], levels: [], message: null,
    unparsable: 'deny', createdAt: n, createdBy: 'admin', ...over,
  };
}

/** A store whose rules the test sets; the book reads them on reload like the real one. */
function bookOf(initial: RuleRecord[]): { book: RuleBook; set: (rules: RuleRecord[]) => Promise<void>; reads: () => number } {
  let rules = initial;
  let reads = 0;
  const book = new RuleBook({ rules: { list: () => { reads++; return Promise.resolve([...rules]); }, insert: never, byName: never, remove: never } });
  return { book, set: async (r) => { rules = r; await book.reload(); }, reads: () => reads };
}
const never = (): never => { throw new Error('not used'); };

/**
 * Test matchers: a rule's `match` is a word looked for in the text; the text "<garbage>" cannot be
 * parsed, so every SQL rule in scope gets an 'unparsable' hit (as the real parser-backed one does).
 */
const words: MatcherFactories = {
  sql: (rules) => matcherOf(rules, (cmd) => (cmd.kind === 'sql' ? cmd.text : null)),
  command: (rules) => matcherOf(rules, (cmd) => (cmd.kind === 'exec' ? cmd.command : cmd.kind === 'line' ? cmd.text : null)),
};
function matcherOf(rules: readonly RuleRecord[], textOf: (c: GateCommand) => string | null): KindMatcher {
  return {
    hits: (cmd) => {
      const text = textOf(cmd);
      if (text === null) return [];
      if (text === '<garbage>') return rules.map((r): RuleHit => ({ rule: r, why: 'unparsable', what: text }));
      return rules.filter((r) => r.match !== null && text.toLowerCase().includes(r.match)).map((r): RuleHit => ({ rule: r, why: 'matched', what: text }));
    },
  };
}

const subject = (over: Partial<GateSubject> = {}): GateSubject => ({
  user: 'alice', target: 'orders-db', protocol: 'postgres', allowPortForwarding: false, roles: ['dba'], targetTags: ['prod', 'eu'], level: 'write', ...over,
});
const sql = (text: string): GateCommand => ({ kind: 'sql', protocol: 'postgres', path: 'simple', text });

async function gateWith(rules: RuleRecord[], s: GateSubject = subject()): Promise<{ gate: Gate; set: (r: RuleRecord[]) => Promise<void> }> {
  const b = bookOf(rules);
  await b.book.reload();
  return { gate: new Gate([new RuleGate(b.book, words)], s), set: b.set };
}

describe('RuleGate', () => {
  it('applies a rule only in its scope: target name, tag:, role (any of the user\'s), level', async () => {
    const cases: Array<[Partial<RuleRecord>, boolean]> = [
      [{}, true],
      [{ targets: ['orders-db'] }, true],
      [{ targets: ['other-db'] }, false],
      [{ targets: ['other-db', 'tag:eu'] }, true],
      [{ targets: ['tag:staging'] }, false],
      [{ targets: ['tag:orders-db'] }, false],
      [{ roles: ['ops', 'dba'] }, true],
      [{ roles: ['ops'] }, false],
      [{ levels: ['write'] }, true],
      [{ levels: ['read'] }, false],
      [{ targets: ['tag:prod'], roles: ['dba'], levels: ['read'] }, false],
    ];
    for (const [over, applies] of cases) {
      const { gate } = await gateWith([rule(over)]);
      expect(gate.check(sql('DROP TABLE t')).verdict, JSON.stringify(over)).toBe(applies ? 'deny' : 'allow');
    }
  });

  it('denies with the first matching deny rule, even after a matching flag rule; flags when only flag rules match', async () => {
    const flag = rule({ action: 'flag', match: 'drop', name: 'watch-drop' });
    const deny1 = rule({ match: 'orders', name: 'orders-guard', message: 'orders are protected' });
    const deny2 = rule({ match: 'drop', name: 'no-drop', message: 'no drops' });
    const { gate } = await gateWith([flag, deny1, deny2]);
    expect(gate.check(sql('DROP TABLE orders'))).toEqual({ verdict: 'deny', message: 'orders are protected', rule: 'orders-guard' });
    expect(gate.check(sql('DROP TABLE t'))).toEqual({ verdict: 'deny', message: 'no drops', rule: 'no-drop' });
    const { gate: flagOnly } = await gateWith([flag]);
    expect(flagOnly.check(sql('DROP TABLE t'))).toEqual({ verdict: 'flag', label: 'DROP TABLE t', rule: 'watch-drop' });
    expect(flagOnly.check(sql('SELECT 1'))).toEqual({ verdict: 'allow' });
  });

  it('treats an unparsable statement per rule: deny rules deny by default, allow lets it pass, flag rules flag only when told', async () => {
    const cases: Array<[Partial<RuleRecord>, string]> = [
      [{ action: 'deny', unparsable: 'deny' }, 'deny'],
      [{ action: 'deny', unparsable: 'allow' }, 'allow'],
      [{ action: 'flag', unparsable: 'allow' }, 'allow'],
      [{ action: 'flag', unparsable: 'deny' }, 'flag'],
    ];
    for (const [over, verdict] of cases) {
      const { gate } = await gateWith([rule(over)]);
      const v = gate.check(sql('<garbage>'));
      expect(v.verdict, JSON.stringify(over)).toBe(verdict);
      if (v.verdict === 'flag') expect(v.label).toMatch(/^unparsable statement \(rule r\d+\)$/);
    }
    // An allow-unparsable deny rule does not stop a deny-unparsable one behind it.
    const { gate } = await gateWith([rule({ unparsable: 'allow', name: 'lenient' }), rule({ unparsable: 'deny', name: 'strict' })]);
    expect(gate.check(sql('<garbage>'))).toMatchObject({ verdict: 'deny', rule: 'strict' });
  });

  it('holds a running session to a rule added after it started, and lets go when the rule is removed', async () => {
    const first = rule({ match: 'truncate', action: 'flag' });
    const { gate, set } = await gateWith([first]);
    expect(gate.passThrough).toBe(false);
    expect(gate.check(sql('DROP TABLE t')).verdict).toBe('allow');
    const added = rule({ match: 'drop', name: 'late', message: 'not now' });
    await set([first, added]);
    expect(gate.check(sql('DROP TABLE t'))).toEqual({ verdict: 'deny', message: 'not now', rule: 'late' });
    await set([first, { ...added, targets: ['other-db'] }]);
    expect(gate.check(sql('DROP TABLE t')).verdict).toBe('allow');
    await set([first]);
    expect(gate.check(sql('DROP TABLE t')).verdict).toBe('allow');
    expect(gate.check(sql('TRUNCATE t')).verdict).toBe('flag');
  });

  it('leaves a session pass-through only when no rule of its kind existed at its start', async () => {
    const sqlRule = rule({});
    const cmdRule = rule({ kind: 'command', match: 'rm' });
    expect((await gateWith([])).gate.passThrough).toBe(true);
    expect((await gateWith([cmdRule])).gate.passThrough).toBe(true);
    expect((await gateWith([sqlRule])).gate.passThrough).toBe(false);
    // Scope does not matter for pass-through: a rule of the kind anywhere frames every session of it.
    expect((await gateWith([{ ...sqlRule, targets: ['elsewhere'] }])).gate.passThrough).toBe(false);
    expect((await gateWith([sqlRule], subject({ protocol: 'ssh' }))).gate.passThrough).toBe(true);
    const ssh = await gateWith([cmdRule], subject({ protocol: 'ssh' }));
    expect(ssh.gate.passThrough).toBe(false);
    expect(ssh.gate.check({ kind: 'exec', command: 'rm -rf /tmp/x' }).verdict).toBe('deny');
    expect(ssh.gate.check({ kind: 'line', text: 'sudo rm -rf /' }).verdict).toBe('deny');
    // SQL rules never look at an SSH session's commands, nor command rules at SQL.
    const mixed = await gateWith([rule({ match: 'ls' }), rule({ kind: 'command', match: 'select' })], subject({ protocol: 'ssh' }));
    expect(mixed.gate.check({ kind: 'exec', command: 'ls' }).verdict).toBe('allow');
    const db = await gateWith([rule({ kind: 'command', match: 'select' }), rule({ match: 'zzz' })]);
    expect(db.gate.check(sql('select 1')).verdict).toBe('allow');
  });

  it('fails closed when a matcher throws, and builds matchers once per rule book version', async () => {
    let builds = 0;
    const throwing: MatcherFactories = {
      sql: () => { builds++; return { hits: () => { throw new Error('parser crashed'); } }; },
      command: words.command,
    };
    const b = bookOf([rule({})]);
    await b.book.reload();
    const gate = new Gate([new RuleGate(b.book, throwing)], subject());
    expect(gate.check(sql('select 1'))).toMatchObject({ verdict: 'deny', rule: 'rules' });
    expect(gate.check(sql('select 2')).verdict).toBe('deny');
    expect(builds).toBe(1);
    // A reload that reads the same rules keeps the compiled matchers.
    await b.book.reload();
    gate.check(sql('select 3'));
    expect(builds).toBe(1);
  });

  it('never shows a message with control characters, even one written to the store directly', async () => {
    const { gate } = await gateWith([rule({ message: 'stop\x1b]0;owned\x07\r\nroot# ', name: 'evil' }), rule({ match: 'grant', message: null, name: 'plain' })]);
    expect(gate.check(sql('drop table t'))).toMatchObject({ verdict: 'deny', message: 'stop ]0;owned root#' });
    expect(gate.check(sql('grant all on t to x'))).toMatchObject({ verdict: 'deny', message: 'blocked by rule plain' });
  });
});

describe('RuleBook.reload', () => {
  it('answers a reload asked during a read with a read that started after it (a change just committed is seen)', async () => {
    let rules: RuleRecord[] = [];
    const pending: Array<() => void> = [];
    const book = new RuleBook({
      rules: {
        list: () => {
          const snapshot = [...rules];
          return new Promise((resolve) => pending.push(() => resolve(snapshot)));
        },
        insert: never, byName: never, remove: never,
      },
    });
    const first = book.reload();
    // A change commits while the first read is under way; its author reloads.
    rules = [rule({ name: 'fresh' })];
    const mine = book.reload();
    const alsoMine = book.reload();
    pending.shift()!();
    await first;
    expect(book.current.rules).toEqual([]);
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(pending).toHaveLength(1);
    pending.shift()!();
    await Promise.all([mine, alsoMine]);
    expect(book.current.rules.map((r) => r.name)).toEqual(['fresh']);
    expect(book.current.version).toBe(1);
  });

  it('keeps the old rules when the store cannot be read, and reads again next time', async () => {
    let fail = false;
    const rules = [rule({})];
    const book = new RuleBook({ rules: { list: () => (fail ? Promise.reject(new Error('store down')) : Promise.resolve(rules)), insert: never, byName: never, remove: never } });
    await book.reload();
    fail = true;
    await expect(book.reload()).rejects.toThrow('store down');
    expect(book.current.rules).toEqual(rules);
    fail = false;
    await book.reload();
    expect(book.current.version).toBe(1);
  });
});
