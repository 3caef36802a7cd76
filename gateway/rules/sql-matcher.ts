// STUB (foundation): SQL rules by regex only. Replaced by the parse-tree matcher (libpg-query for
// PostgreSQL, node-sql-parser for MySQL).
import type { RuleRecord } from '../store/records.js';
import type { KindMatcher, RuleHit } from './matcher.js';
import { patternSource } from './rule-spec.js';

/** Loads the parsers (libpg-query is WASM, loaded once, asynchronously) before the first session. */
export async function loadSqlParsers(): Promise<void> {}

export function sqlMatcher(rules: readonly RuleRecord[], _protocol: 'postgres' | 'mysql'): KindMatcher {
  const compiled = rules.map((r) => ({ r, re: r.match ? new RegExp(patternSource(r.match, 'sql').source, 'iu') : null }));
  return {
    hits: (cmd) => {
      if (cmd.kind !== 'sql') return [];
      const out: RuleHit[] = [];
      for (const { r, re } of compiled) if (re?.test(cmd.text)) out.push({ rule: r, why: 'matched', what: cmd.text.slice(0, 200) });
      return out;
    },
  };
}
