// Command rules for SSH (DESIGN 3d): exec commands exactly as sent, and lines submitted at an
// interactive prompt as the gateway reconstructed them (session/terminal-lines.ts). A rule's
// `--match` is `re:REGEX` (regex only), `glob:PATTERN` (shell-word glob only) or anything else
// (both: a hit when either matches).
// - Regex: unanchored search, case-sensitive (Unix commands are), on the raw line and on each
//   simple command as normalized (so `'r'm -rf` is seen as `rm -rf`).
// - Glob: against each simple command that would run (command/command-line.ts), with the option
//   and operand semantics of command/command-pattern.ts.
// A line this matcher cannot read (too long, too deep) hits glob rules as `unparsable`; deny
// rules count that as a match by default. Parsing happens once per command, only when there is a
// rule in scope (the rule gate builds no matcher otherwise).
import type { RuleRecord } from '../store/records.js';
import { commandText, readCommandLine } from './command/command-line.js';
import { matchesPattern, parsePattern, type CommandPattern } from './command/command-pattern.js';
import { printable } from './command/printable.js';
import type { KindMatcher, RuleHit } from './matcher.js';
import { patternSource } from './rule-spec.js';

interface Compiled {
  rule: RuleRecord;
  re: RegExp | null;
  glob: CommandPattern | null;
}

export function commandMatcher(rules: readonly RuleRecord[]): KindMatcher {
  const compiled: Compiled[] = rules.filter((r) => r.match !== null).map((rule) => {
    const { source, glob, regex } = patternSource(rule.match!, 'command');
    return { rule, re: regex ? safeRegExp(source) : null, glob: glob ? parsePattern(source) : null };
  });
  const needsWords = compiled.some((c) => c.glob !== null || c.re !== null);
  return {
    hits: (cmd) => {
      const text = cmd.kind === 'exec' ? cmd.command : cmd.kind === 'line' ? cmd.text : null;
      if (text === null || !needsWords) return [];
      const line = readCommandLine(text);
      // sshd hands the command to the shell as a C string: what runs stops at the first NUL, so
      // `rm -rf /x\0junk` runs `rm -rf /x`. Both readings are matched.
      const nul = text.indexOf('\0');
      if (nul >= 0) {
        const cut = readCommandLine(text.slice(0, nul));
        line.commands.push(...cut.commands);
        line.unparsable ||= cut.unparsable;
      }
      // At a prompt, bash expands history (`!!`, `!rm`, `^a^b`) before it runs the line: what it
      // becomes is not on the screen, so a glob rule cannot tell (unparsable: deny rules refuse).
      if (cmd.kind === 'line' && historyExpansion(text)) line.unparsable = true;
      const simple = line.commands.map(commandText);
      const out: RuleHit[] = [];
      for (const { rule, re, glob } of compiled) {
        if (re) {
          if (re.test(text)) { out.push({ rule, why: 'matched', what: printable(text) }); continue; }
          const s = simple.find((x) => re.test(x));
          if (s !== undefined) { out.push({ rule, why: 'matched', what: printable(s) }); continue; }
        }
        if (glob) {
          const i = line.commands.findIndex((c) => matchesPattern(glob, c));
          if (i >= 0) out.push({ rule, why: 'matched', what: printable(simple[i]!) });
          else if (line.unparsable) out.push({ rule, why: 'unparsable', what: printable(text) });
        }
      }
      return out;
    },
  };
}

/** Rules were checked at `rule add` (rule-spec.ts); a pattern that still fails to compile matches nothing rather than throwing per command. */
function safeRegExp(source: string): RegExp | null {
  try {
    return new RegExp(source, 'u');
  } catch {
    return null;
  }
}

/** Whether bash would expand history in this line: `!` followed by a word character outside single quotes, or a leading `^`. */
function historyExpansion(text: string): boolean {
  if (text.trimStart().startsWith('^')) return true;
  const unquoted = text.replace(/'[^']*'/g, '');
  return /(?:^|[^\\])![^\s=("]/.test(unquoted);
}
