// What a guardrail rule says (DESIGN 3d) and whether it is well formed: the built-in SQL classes,
// the check of a rule before it is stored (a bad regex or an unknown class is refused at
// `rule add`, never discovered by a session), and whether a rule is in scope for a session.
// Matching itself is per kind: rules/sql-matcher.ts (parse trees) and rules/command-matcher.ts.
import safeRegex from 'safe-regex2';
import type { RuleAction, RuleKind, RuleRecord } from '../store/records.js';
import { PortcullisError } from '../util/errors.js';

/** SQL classes without an argument; `function:NAME` is the one with. */
export const SQL_CLASSES = ['ddl', 'drop', 'truncate', 'unbounded-write', 'grant', 'copy-program', 'alter-system'] as const;
export type SqlClass = (typeof SQL_CLASSES)[number];

/** Longest regex source a rule may carry. */
const MAX_PATTERN = 1024;

/** A rule as an admin writes it, before it gets an id. */
export interface RuleInput {
  name: string;
  kind: RuleKind;
  class?: string | null | undefined;
  match?: string | null | undefined;
  action: RuleAction;
  targets?: string[] | undefined;
  roles?: string[] | undefined;
  levels?: string[] | undefined;
  message?: string | null | undefined;
  unparsable?: 'deny' | 'allow' | undefined;
}

/** `function:pg_terminate_backend` → `pg_terminate_backend` (lower case, no schema); null for other classes. */
export function functionOfClass(cls: string): string | null {
  if (!cls.toLowerCase().startsWith('function:')) return null;
  return cls.slice('function:'.length).trim().toLowerCase();
}

/**
 * Checks a rule; throws PortcullisError 'bad-request' saying what is wrong and what would be right.
 * Returns the normalized fields (class in lower case, unparsable defaulted: deny for deny rules).
 */
export function checkRule(r: RuleInput): Pick<RuleRecord, 'class' | 'match' | 'unparsable' | 'message'> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(r.name)) throw invalid(`rule name "${r.name}": use letters, digits, '.', '_' and '-' (up to 64)`);
  const cls = r.class?.trim() || null;
  const match = r.match ?? null;
  if ((cls === null) === (match === null)) throw invalid('a rule needs exactly one of --class CLASS and --match PATTERN');
  if (cls !== null) {
    if (r.kind !== 'sql') throw invalid(`--class is for SQL rules; a command rule takes --match PATTERN (a regex or a shell-word glob)`);
    const lower = cls.toLowerCase();
    const fn = functionOfClass(lower);
    if (fn !== null) {
      if (!/^[a-z_][a-z0-9_$]{0,62}$/.test(fn)) throw invalid(`class "${cls}": function:NAME takes a function name without schema or parentheses, e.g. function:pg_terminate_backend`);
    } else if (!(SQL_CLASSES as readonly string[]).includes(lower)) {
      throw invalid(`unknown class "${cls}"; classes are ${SQL_CLASSES.join(', ')} and function:NAME`);
    }
  }
  if (match !== null) checkPattern(match, r.kind);
  const message = r.message == null ? null : cleanMessage(r.message);
  if (message !== null && message.length > 500) throw invalid('--message is limited to 500 characters');
  const unparsable = r.unparsable ?? (r.action === 'deny' ? 'deny' : 'allow');
  return { class: cls === null ? null : cls.toLowerCase(), match, unparsable, message };
}

/** A pattern a rule may carry: compiles, bounded, and no nested quantifiers (a regex that can take exponential time). */
export function checkPattern(pattern: string, kind: RuleKind): void {
  if (pattern.length === 0) throw invalid('--match needs a pattern');
  if (pattern.length > MAX_PATTERN) throw invalid(`--match pattern is limited to ${MAX_PATTERN} characters`);
  const { source, glob } = patternSource(pattern, kind);
  if (glob) return;
  try {
    new RegExp(source, 'iu');
  } catch (e) {
    const hint = kind === 'command' ? ' (for a shell-word glob write glob:PATTERN)' : '';
    throw invalid(`--match "${pattern}" is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}${hint}`);
  }
  if (!safeRegex(source, { limit: 25 })) throw invalid(`--match "${pattern}" could take exponential time on some input (nested repetition); simplify it`);
}

/**
 * The regex or glob source of a --match. Command rules: `glob:P` is a shell-word glob only, `re:P`
 * a regex only, anything else both (matches when either does). SQL rules: a regex.
 */
export function patternSource(pattern: string, kind: RuleKind): { source: string; glob: boolean; regex: boolean } {
  if (kind === 'command' && pattern.startsWith('glob:')) return { source: pattern.slice(5), glob: true, regex: false };
  if (pattern.startsWith('re:')) return { source: pattern.slice(3), glob: false, regex: true };
  return { source: pattern, glob: kind === 'command', regex: true };
}

/** Who and where a rule is checked against (GateSubject carries the same). */
export interface RuleScope {
  target: string;
  targetTags: readonly string[];
  roles: readonly string[];
  level: string;
}

/** Whether the rule applies to a session of this user, target and level. */
export function inScope(r: Pick<RuleRecord, 'targets' | 'roles' | 'levels'>, s: RuleScope): boolean {
  if (r.targets.length > 0 && !r.targets.some((t) => (t.startsWith('tag:') ? s.targetTags.includes(t.slice(4)) : t === s.target))) return false;
  if (r.roles.length > 0 && !r.roles.some((role) => s.roles.includes(role))) return false;
  if (r.levels.length > 0 && !r.levels.includes(s.level)) return false;
  return true;
}

// C0 controls, DEL, C1 controls, line and paragraph separators, bidi embeddings/overrides/isolates.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/**
 * A rule's message as it may reach a user's terminal (SSH stderr, the interactive prompt, a psql
 * error line): one line, no control characters, so a message cannot carry an escape sequence that
 * drives the terminal, forge a prompt or hide text. Runs of them become one space; empty is null.
 */
export function cleanMessage(text: string): string | null {
  const clean = text.replace(CONTROL, ' ').replace(/ {2,}/g, ' ').trim();
  return clean.length > 0 ? clean : null;
}

/** What the user is told when the rule denies. Cleaned again here: a rule written to the store by other means must not reach a terminal raw. */
export function denyMessage(r: Pick<RuleRecord, 'name' | 'message'>): string {
  return (r.message === null ? null : cleanMessage(r.message)) ?? `blocked by rule ${cleanMessage(r.name) ?? 'without a name'}`;
}

function invalid(message: string): PortcullisError {
  return new PortcullisError('bad-request', message);
}
