// What the SQL rules know about one query text (one client message): per statement, the built-in
// classes it is in, the functions it calls and its normalized text; and whether some part could not
// be analysed (then every rule that did not match gets an `unparsable` hit). Produced by the
// dialect analysers (pg-analyze.ts, my-analyze.ts), cached by text (analysis-cache.ts), read by the
// matcher (../sql-matcher.ts). Knows no rules.
import type { SqlClass } from '../rule-spec.js';

export interface StatementFacts {
  classes: Set<SqlClass>;
  /** Lower case, bare names (schema dropped). */
  functions: Set<string>;
  /** Comments stripped (MySQL executable comments kept as code), whitespace collapsed. */
  text: string;
}

export interface QueryAnalysis {
  statements: StatementFacts[];
  /** Why some part could not be analysed (null: all of it was). */
  unparsable: string | null;
  /** SQL-level PREPARE name AS ...: the name (as the server folds it) and the PREPARE statement's text. */
  prepares?: Array<{ name: string; text: string }>;
  /** SQL-level EXECUTE name (also inside EXPLAIN or CREATE TABLE AS). */
  executes?: string[];
}

export function newFacts(text: string): StatementFacts {
  return { classes: new Set(), functions: new Set(), text };
}

export function unparsableQuery(why: string): QueryAnalysis {
  return { statements: [], unparsable: why };
}

/** Rough retained size of an analysis, for the cache's byte bound. */
export function analysisBytes(a: QueryAnalysis): number {
  let n = 64 + (a.unparsable?.length ?? 0) * 2;
  for (const p of a.prepares ?? []) n += 64 + (p.name.length + p.text.length) * 2;
  for (const e of a.executes ?? []) n += 32 + e.length * 2;
  for (const s of a.statements) {
    n += 96 + s.text.length * 2 + s.classes.size * 16;
    for (const f of s.functions) n += 32 + f.length * 2;
  }
  return n;
}
