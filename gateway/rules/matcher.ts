// The one shape both rule kinds match in: a matcher is built once per session from the rules in
// scope, and tells for one gate command which rules it hits. The rule gate (rules/rule-gate.ts)
// turns hits into a verdict; matchers never decide deny or flag.
import type { RuleRecord } from '../store/records.js';
import type { GateCommand } from '../session/gate.js';

export interface RuleHit {
  rule: RuleRecord;
  /** matched: the rule's class or pattern matched; unparsable: the statement could not be read and the rule treats that as a match. */
  why: 'matched' | 'unparsable';
  /** Short, for records: what matched (the statement or command part). */
  what: string;
}

export interface KindMatcher {
  /** Rules hit by this command, in rule order; empty when none (allocation-free is welcome but not required). */
  hits(cmd: GateCommand): RuleHit[];
}
