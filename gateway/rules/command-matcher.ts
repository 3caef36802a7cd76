// STUB (foundation): command rules by regex only. Replaced by the shell-word matcher.
import type { RuleRecord } from '../store/records.js';
import type { KindMatcher, RuleHit } from './matcher.js';
import { patternSource } from './rule-spec.js';

export function commandMatcher(rules: readonly RuleRecord[]): KindMatcher {
  const compiled = rules.map((r) => ({ r, re: r.match ? new RegExp(patternSource(r.match, 'command').source, 'iu') : null }));
  return {
    hits: (cmd) => {
      const text = cmd.kind === 'exec' ? cmd.command : cmd.kind === 'line' ? cmd.text : null;
      if (text === null) return [];
      const out: RuleHit[] = [];
      for (const { r, re } of compiled) if (re?.test(text)) out.push({ rule: r, why: 'matched', what: text.slice(0, 200) });
      return out;
    },
  };
}
