// Guardrail rules as one gate rule: for a session's command, the first deny rule that matches
// denies (with its message), else the first flag rule that matches flags. Which rules a session
// sees is decided per check from the current rule book (scope: targets and tags, roles, levels),
// so adding or removing a rule reaches running sessions. The one exception is a session that
// started when no rule of its kind existed: its adapter relays bytes without framing them
// (pass-through), and rules added later apply from its next session (`watches`).
import type { GateCommand, GateRule, GateSubject, GateVerdict } from '../session/gate.js';
import type { RuleRecord } from '../store/records.js';
import { commandMatcher } from './command-matcher.js';
import type { KindMatcher, RuleHit } from './matcher.js';
import type { RuleBook } from './rule-book.js';
import { denyMessage, inScope } from './rule-spec.js';
import { sqlMatcher } from './sql-matcher.js';
import { PreparedSql } from './sql/prepared-sql.js';

interface Compiled {
  version: number;
  sql: KindMatcher | null;
  command: KindMatcher | null;
}

const SQL_PROTOCOLS = new Set(['postgres', 'mysql']);

/** How a kind's matcher is built from its rules in scope (the real ones by default; tests pass their own). */
export interface MatcherFactories {
  sql: (rules: readonly RuleRecord[], protocol: 'postgres' | 'mysql', memory: PreparedSql) => KindMatcher;
  command: (rules: readonly RuleRecord[]) => KindMatcher;
}

const REAL: MatcherFactories = { sql: sqlMatcher, command: commandMatcher };

export class RuleGate implements GateRule {
  readonly name = 'rules';
  // Per session (the gate passes its subject object every time): matchers for its rules in scope.
  private readonly compiled = new WeakMap<GateSubject, Compiled>();
  // Per session, across rule changes: SQL-level PREPAREs, so an EXECUTE is read as what it runs.
  private readonly prepared = new WeakMap<GateSubject, PreparedSql>();

  constructor(private readonly book: RuleBook, private readonly make: MatcherFactories = REAL) {}

  watches(subject: GateSubject): boolean {
    const kind = SQL_PROTOCOLS.has(subject.protocol) ? 'sql' : 'command';
    return this.book.current.rules.some((r) => r.kind === kind);
  }

  check(cmd: GateCommand, subject: GateSubject): GateVerdict | null {
    const matcher = cmd.kind === 'sql' ? this.matchers(subject).sql : cmd.kind === 'exec' || cmd.kind === 'line' ? this.matchers(subject).command : null;
    if (!matcher) return null;
    const hits = matcher.hits(cmd).filter(counts);
    if (hits.length === 0) return null;
    const deny = hits.find((h) => h.rule.action === 'deny');
    if (deny) return { verdict: 'deny', message: denyMessage(deny.rule), rule: deny.rule.name };
    const flag = hits[0]!;
    return { verdict: 'flag', label: flag.why === 'unparsable' ? `unparsable statement (rule ${flag.rule.name})` : flag.what, rule: flag.rule.name };
  }

  private matchers(subject: GateSubject): Compiled {
    const snap = this.book.current;
    const have = this.compiled.get(subject);
    if (have && have.version === snap.version) return have;
    const scope = { target: subject.target, targetTags: subject.targetTags, roles: subject.roles, level: subject.level };
    const mine = snap.rules.filter((r) => inScope(r, scope));
    const of = (kind: RuleRecord['kind']): RuleRecord[] => mine.filter((r) => r.kind === kind);
    const sql = of('sql');
    const command = of('command');
    let memory = this.prepared.get(subject);
    if (!memory) this.prepared.set(subject, memory = new PreparedSql());
    const c: Compiled = {
      version: snap.version,
      sql: sql.length > 0 && SQL_PROTOCOLS.has(subject.protocol) ? this.make.sql(sql, subject.protocol === 'mysql' ? 'mysql' : 'postgres', memory) : null,
      command: command.length > 0 ? this.make.command(command) : null,
    };
    this.compiled.set(subject, c);
    return c;
  }
}

/** An unparsable statement counts against a rule only when the rule says so (`--unparsable deny`). */
function counts(h: RuleHit): boolean {
  return h.why === 'matched' || h.rule.unparsable === 'deny';
}
