// A shell-word glob rule (`rm -rf *`, `shutdown*`, `iptables -F`) and whether a command matches it.
// The pattern is read like a command: its first word globs the command's name (basename), its
// options are a set the command must contain, its other words glob the command's operands in
// order. Chosen so the usual evasions still match:
// - options as a set of letters, clusters split: `rm -rf *` matches `rm -fr`, `rm -r -f`, `rm -Rf`,
//   and (aliases below) `rm --recursive --force`, also abbreviated (`rm --rec --f`); extra
//   options do not matter (`rm -rfv`);
// - operands in order, others may come between (an option's value, `iptables -t nat -F` has `nat`):
//   `iptables -F` matches `iptables -F INPUT` and `iptables -t nat -F`. A pattern is a prefix, not
//   the whole command: write `re:^iptables -F$` to match exactly;
// - a trailing `*` word matches any remaining words, none included (`rm -rf *` matches `rm -rf`);
// - a command whose name is an unquoted glob (`/???/r?`) matches when that glob matches the
//   pattern's literal name; one whose name comes from an expansion (`$X`, `$(...)`) matches any
//   name, but only patterns that have options or operands (else `$EDITOR x` would hit `reboot`).
import type { RunCommand } from './simple-command.js';
import { basename } from './simple-command.js';
import { splitCommands } from './shell-words.js';
import { globMatch, hasGlob } from './word-glob.js';

export interface CommandPattern {
  name: string;
  letters: readonly string[];
  longs: readonly string[];
  /** Option words with glob characters (`-*`): some option word of the command must match. */
  optionGlobs: readonly string[];
  operands: readonly string[];
}

/** Long options and letters that mean the same for well-known commands (normalized to one letter or name). */
const ALIASES: Record<string, Record<string, string>> = {
  rm: { R: 'r', recursive: 'r', force: 'f', dir: 'd' },
  cp: { R: 'r', recursive: 'r', force: 'f' },
  mv: { force: 'f' },
  chmod: { recursive: 'R' }, chown: { recursive: 'R' }, chgrp: { recursive: 'R' },
  iptables: { flush: 'F', 'delete-chain': 'X', delete: 'D', policy: 'P', zero: 'Z', append: 'A', insert: 'I' },
  ip6tables: { flush: 'F', 'delete-chain': 'X', delete: 'D', policy: 'P', zero: 'Z', append: 'A', insert: 'I' },
  shutdown: { halt: 'H', poweroff: 'P', reboot: 'r' },
  git: { force: 'f' },
  crontab: {},
  mkfs: {},
};

export function parsePattern(source: string): CommandPattern | null {
  const words = splitCommands(source).commands[0];
  if (!words || words.length === 0) return null;
  const opts = options(words.slice(1).map((w) => w.text));
  const name = basename(words[0]!.text);
  const alias = ALIASES[name] ?? {};
  const operands = [...opts.operands];
  // A trailing `*` matches whatever remains, so it asks for nothing.
  while (operands.length > 0 && operands[operands.length - 1] === '*') operands.pop();
  return {
    name,
    letters: opts.letters.filter((l) => !hasGlob(l)).map((l) => alias[l] ?? l),
    longs: opts.longs.map((l) => alias[l] ?? l),
    optionGlobs: opts.raw.filter(hasGlob),
    operands,
  };
}

export function matchesPattern(p: CommandPattern, c: RunCommand): boolean {
  if (!nameMatches(p, c)) return false;
  const opts = options(c.args);
  const alias = ALIASES[hasGlob(p.name) ? c.name : p.name] ?? {};
  const letters = new Set(opts.letters.map((l) => alias[l] ?? l));
  const longs = new Set(opts.longs.map((l) => alias[l] ?? abbreviated(l, alias, p.longs)));
  // A long alias may stand for a letter and a letter for a long one: compare in one space.
  const has = (o: string): boolean => letters.has(o) || longs.has(o);
  if (!p.letters.every(has) || !p.longs.every(has)) return false;
  if (!p.optionGlobs.every((g) => opts.raw.some((r) => globMatch(g, r)))) return false;
  let k = 0;
  for (const operand of opts.operands) {
    if (k < p.operands.length && globMatch(p.operands[k]!, operand)) k++;
  }
  return k === p.operands.length;
}

/**
 * getopt_long takes any unambiguous prefix of a long option (`rm --rec --f x` is `rm --recursive
 * --force`): a prefix of exactly one known long name (the command's aliases, else the pattern's
 * long options) counts as that name. A prefix the program would find ambiguous only over-matches.
 */
function abbreviated(l: string, alias: Record<string, string>, patternLongs: readonly string[]): string {
  const known = Object.keys(alias).filter((k) => k.length > 1 && k.startsWith(l));
  if (known.length === 1) return alias[known[0]!]!;
  const fromPattern = patternLongs.filter((k) => k.startsWith(l));
  return known.length === 0 && fromPattern.length === 1 ? fromPattern[0]! : l;
}

function nameMatches(p: CommandPattern, c: RunCommand): boolean {
  if (c.unknownName) return p.letters.length + p.longs.length + p.optionGlobs.length + p.operands.length > 0;
  if (globMatch(p.name, c.name)) return true;
  return c.nameIsGlob && !hasGlob(p.name) && globMatch(c.name, p.name);
}

interface Options { letters: string[]; longs: string[]; raw: string[]; operands: string[] }

/** Options before `--`: `-abc` gives letters a, b, c; `--name[=v]` gives name. The rest are operands. */
function options(args: readonly string[]): Options {
  const o: Options = { letters: [], longs: [], raw: [], operands: [] };
  let ended = false;
  for (const a of args) {
    if (!ended && a === '--') { ended = true; continue; }
    if (!ended && a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      o.longs.push(eq < 0 ? a.slice(2) : a.slice(2, eq));
      o.raw.push(a);
    } else if (!ended && a.startsWith('-') && a.length > 1) {
      o.letters.push(...[...a.slice(1)]);
      o.raw.push(a);
    } else {
      o.operands.push(a);
    }
  }
  return o;
}
