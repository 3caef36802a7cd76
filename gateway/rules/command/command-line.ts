// A command line as command rules see it: every simple command that would run, normalized
// (quotes removed, wrappers dropped, basename), found through separators, substitutions,
// subshells and shell code run as a string (`bash -c`, `eval`, `su -c`, `find -exec`). Bounded: a
// line too long, nested too deep or expanding to too many commands is `unparsable`, which a deny
// rule treats as a match (rule `unparsable`, default deny): a guardrail that gives up must not let
// the command through.
import { normalize, SHELLS, type RunCommand } from './simple-command.js';
import { splitCommands } from './shell-words.js';

export const MAX_LINE = 64 * 1024;
const MAX_CODE_DEPTH = 8;
const MAX_COMMANDS = 2048;

export interface CommandLine {
  commands: RunCommand[];
  unparsable: boolean;
  /** Ended inside a quote, substitution or after a backslash: the shell would ask for more. */
  incomplete: boolean;
}

export function readCommandLine(text: string): CommandLine {
  if (text.length > MAX_LINE) return { commands: [], unparsable: true, incomplete: false };
  const out: CommandLine = { commands: [], unparsable: false, incomplete: false };
  read(text, 0, out, true);
  return out;
}

function read(text: string, depth: number, out: CommandLine, top: boolean): void {
  if (depth > MAX_CODE_DEPTH) { out.unparsable = true; return; }
  const split = splitCommands(text);
  if (split.overflow) out.unparsable = true;
  if (top && split.incomplete) out.incomplete = true;
  for (const words of split.commands) {
    const n = normalize(words);
    out.commands.push(...n.commands);
    if (out.commands.length > MAX_COMMANDS) { out.unparsable = true; return; }
    for (const code of n.code) read(code, depth + 1, out, false);
  }
}

/** A command as one line of text, for regex rules and records. */
export function commandText(c: RunCommand): string {
  return [c.name, ...c.args].join(' ');
}

// Wrappers that start a login or interactive shell with no command (`sudo -i`, `sudo -s`, `su`,
// `doas -s`, `runuser -l`, `script`): normalize() drops them, so they are looked for in the text.
const SHELL_STARTERS = /(?:^|[\s;&|(`'"])(?:sudo|doas|su|runuser|script|machinectl|nsenter|unshare|chroot)(?=$|[\s;&|)`'"])/;

/**
 * Whether a command run without a terminal may read shell code from its stdin: a shell (`bash`,
 * `sh -s`, `bash -c "$(cat)"`, `xargs sh -c`), or a wrapper that can start one. Errs towards yes:
 * its stdin lines are then checked like typed lines (session/stdin-line-gate.ts), which costs a
 * parse per line and refuses a data line that reads like a denied command.
 */
export function readsShellStdin(command: string): boolean {
  if (SHELL_STARTERS.test(command)) return true;
  const line = readCommandLine(command);
  return line.unparsable || line.commands.some((c) => SHELLS.has(c.name) || c.unknownName || c.nameIsGlob);
}
