// From a simple command's words to what actually runs: leading `VAR=x` assignments, shell keywords
// (`if`, `then`, `do`, `!`, `{` ...) and wrappers (sudo, doas, env, command, builtin, exec, nohup,
// time, nice, ionice, timeout, xargs, busybox, stdbuf, chroot, setsid, taskset, chrt, flock, ...)
// are dropped with their own options, and the command word is reduced to its basename. Commands
// that run a string as shell code give that string back to be split again (`bash -c STR`, `sh -c`,
// `su -c`, `eval`, `env -S`), and `find -exec CMD ;` gives its CMD. Knows option syntax of these
// wrappers only; anything else is taken as the command.
import type { Word } from './shell-words.js';

export interface RunCommand {
  /** Basename of the command word; `unknown` when it comes from an expansion (`$X`, `$(...)`). */
  name: string;
  unknownName: boolean;
  /** The command word is an unquoted glob (`/???/r?`): it may run any name it matches. */
  nameIsGlob: boolean;
  args: string[];
}

export interface Normalized {
  commands: RunCommand[];
  /** Strings the commands run as shell code: split and normalized again by the caller. */
  code: string[];
}

const KEYWORDS = new Set(['!', '{', '}', 'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'coproc', 'time', 'exec', 'command', 'builtin', 'nohup', 'setsid', 'unbuffer', 'caffeinate', 'doas', 'busybox', 'xargs', 'sudo', 'env', 'nice', 'ionice', 'timeout', 'stdbuf', 'chroot', 'taskset', 'chrt', 'flock', 'runuser', 'strace', 'ltrace', 'watch', 'proxychains', 'torsocks', 'firejail', 'systemd-run', 'script', 'pkexec', 'fakeroot', 'catchsegv', 'setpriv', 'unshare', 'nsenter', 'sg', 'parallel']);

/** Per wrapper: options that take a value (short letters and long names), and positional words it consumes before the command. */
interface WrapperSyntax { valued: string; long?: readonly string[]; positional?: number }
const WRAPPERS: Record<string, WrapperSyntax> = {
  sudo: { valued: 'CDghpRrTtUu', long: ['user', 'group', 'host', 'prompt', 'role', 'type', 'close-from', 'chdir', 'other-user', 'command-timeout', 'chroot'] },
  doas: { valued: 'uC' },
  env: { valued: 'uCS', long: ['unset', 'chdir', 'split-string'] },
  command: { valued: '' }, builtin: { valued: '' }, exec: { valued: 'a' }, nohup: { valued: '' }, time: { valued: 'fo' },
  nice: { valued: 'n', long: ['adjustment'] }, ionice: { valued: 'cnp', long: ['class', 'classdata', 'pid'] },
  timeout: { valued: 'ks', long: ['kill-after', 'signal'], positional: 1 },
  xargs: { valued: 'aEeIiLlnPsd', long: ['arg-file', 'delimiter', 'eof', 'replace', 'max-lines', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'] },
  busybox: { valued: '' }, stdbuf: { valued: 'ioe', long: ['input', 'output', 'error'] }, chroot: { valued: '', long: ['userspec', 'groups'], positional: 1 },
  setsid: { valued: '' }, unbuffer: { valued: '' }, caffeinate: { valued: 'tw' }, taskset: { valued: '', positional: 1 },
  chrt: { valued: '', positional: 1 }, flock: { valued: 'wEc', long: ['timeout', 'conflict-exit-code', 'command'], positional: 1 },
  runuser: { valued: 'ugGc', long: ['user', 'group', 'supp-group', 'command', 'shell'] },
  strace: { valued: 'eoOpPsSuIXbaEU' }, ltrace: { valued: 'eoOpPsSuIXbaEU' }, watch: { valued: 'dnq', long: ['interval', 'differences', 'chgexit'] },
  proxychains: { valued: 'f' }, torsocks: { valued: 'aPiud' }, firejail: { valued: '' }, 'systemd-run': { valued: 'pEuMH', long: ['unit', 'property', 'uid', 'gid', 'setenv', 'description', 'slice', 'machine', 'host'] },
  script: { valued: 'cEIOBTmo', long: ['command', 'echo', 'log-in', 'log-out', 'log-io', 'log-timing'] },
  pkexec: { valued: 'u', long: ['user'] }, fakeroot: { valued: 'ils', long: ['lib', 'faked'] }, catchsegv: { valued: '' },
  setpriv: { valued: '', long: ['reuid', 'regid', 'ruid', 'euid', 'rgid', 'egid', 'groups', 'inh-caps', 'ambient-caps', 'bounding-set', 'securebits', 'pdeathsig', 'selinux-label', 'apparmor-profile', 'landlock-access', 'landlock-rule'] },
  unshare: { valued: 'SGRw', long: ['setgroups', 'map-user', 'map-group', 'map-users', 'map-groups', 'propagation', 'setuid', 'setgid', 'root', 'wd'] },
  nsenter: { valued: 'tSGRw', long: ['target', 'setuid', 'setgid', 'root', 'wd', 'env'] },
  // `sg GROUP CMD` / `sg GROUP -c CMD`: the command is a string of shell code (collected below).
  sg: { valued: 'c', positional: 1 },
  // `parallel CMD ::: ARGS`: CMD runs (with each argument).
  parallel: { valued: 'jSdIaE', long: ['jobs', 'sshlogin', 'delimiter', 'arg-file', 'eof', 'joblog', 'results', 'timeout', 'delay'] },
};
export const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish', 'rbash', 'tcsh', 'csh', 'busybox']);
const MAX_WRAPPERS = 32;

export function normalize(words: readonly Word[]): Normalized {
  const commands: RunCommand[] = [];
  const code: string[] = [];
  let i = 0;
  let wrapped = 0;
  for (;;) {
    // Assignments first (`LANG=C FOO=x cmd`); a word with a quoted or expanded `=` left part is not one.
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*\+?=/.test(words[i]!.text)) i++;
    const w = words[i];
    if (w === undefined) return { commands, code };
    const name = basename(w.text);
    if (!KEYWORDS.has(name) || ++wrapped > MAX_WRAPPERS) break;
    i++;
    const syntax = WRAPPERS[name];
    if (!syntax) continue;
    // `command -v x` / `command -V x` only look a name up; so does `type`.
    if (name === 'command' && words.slice(i).some((x) => /^-[pvV]*[vV]/.test(x.text))) return { commands, code };
    // Some carry a command as a string option (`env -S`, `runuser -c`, `flock -c`, `script -c`): collected as code.
    i = skipOptions(words, i, syntax, name, code);
    // `sg GROUP "CMD ARGS"`: the rest is a string sg gives to /bin/sh -c.
    if (name === 'sg') {
      if (i < words.length) code.push(words.slice(i).map((x) => x.text).join(' '));
      return { commands, code };
    }
  }
  const w = words[i]!;
  const name = basename(w.text);
  const args = words.slice(i + 1).map((x) => x.text);
  commands.push({ name, unknownName: basenameExpands(w), nameIsGlob: w.glob && !basenameExpands(w), args });
  if (SHELLS.has(name) || name === 'su') code.push(...shellCode(name, args));
  if (name === 'eval') code.push(args.join(' '));
  if (name === 'ssh') {
    // `ssh [options] host CMD...`: CMD runs (on the next hop, still a command someone runs from here).
    const rest = sshCommand(args);
    if (rest) code.push(rest);
  }
  if (name === 'find') {
    // find ... -exec CMD ARGS ; (or +): CMD runs; its words are already words.
    for (let k = 0; k < args.length; k++) {
      if (!/^-(exec|execdir|ok|okdir)$/.test(args[k]!)) continue;
      let end = k + 1;
      while (end < args.length && args[end] !== ';' && args[end] !== '+') end++;
      const inner = normalize(words.slice(i + 2 + k, i + 1 + end));
      commands.push(...inner.commands);
      code.push(...inner.code);
      k = end;
    }
  }
  return { commands, code };
}

/** Skips a wrapper's options (and positional arguments); collects strings run as code. Returns the index of the next word. */
function skipOptions(words: readonly Word[], i: number, syntax: WrapperSyntax, name: string, code: string[]): number {
  let positional = syntax.positional ?? 0;
  while (i < words.length) {
    const t = words[i]!.text;
    if (t === '--') return i + 1;
    if (t.startsWith('--') && t.length > 2) {
      const [opt, value] = splitLong(t);
      i++;
      if (syntax.long?.includes(opt) && value === null) {
        if (isCodeOption(name, opt)) code.push(words[i]?.text ?? '');
        i++;
      } else if (value !== null && isCodeOption(name, opt)) code.push(value);
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      i++;
      // A cluster like `-u root` or `-uroot`: the first valued letter takes the rest or the next word.
      for (let k = 1; k < t.length; k++) {
        const letter = t[k]!;
        if (!syntax.valued.includes(letter)) continue;
        const rest = t.slice(k + 1);
        const value = rest.length > 0 ? rest : (words[i++]?.text ?? '');
        if (isCodeOption(name, letter)) code.push(value);
        break;
      }
      continue;
    }
    if (positional > 0) { positional--; i++; continue; }
    return i;
  }
  return i;
}

function isCodeOption(wrapper: string, opt: string): boolean {
  return (wrapper === 'env' && (opt === 'S' || opt === 'split-string')) || (wrapper === 'sg' && opt === 'c')
    || ((wrapper === 'runuser' || wrapper === 'flock' || wrapper === 'script') && (opt === 'c' || opt === 'command'));
}

/** `bash -c STR`, `sh -lc STR`, `su - root -c STR`, `busybox sh -c STR`: the STR. */
function shellCode(name: string, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k]!;
    if (name === 'busybox' && k === 0 && SHELLS.has(a)) continue;
    if (a === '--command' || (name === 'su' && a.startsWith('--command='))) {
      out.push(a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[k + 1] ?? '');
      break;
    }
    if (/^-[A-Za-z]*c[A-Za-z]*$/.test(a) && !a.startsWith('--')) {
      // The first operand after the options is the code (bash -c 'cmd' name args...).
      let n = k + 1;
      while (n < args.length && /^[-+][A-Za-z]+$/.test(args[n]!) && name !== 'su') n += /^[-+]o$/.test(args[n]!) ? 2 : 1;
      if (n < args.length) out.push(args[n]!);
      break;
    }
  }
  return out;
}

function splitLong(t: string): [string, string | null] {
  const eq = t.indexOf('=');
  return eq < 0 ? [t.slice(2), null] : [t.slice(2, eq), t.slice(eq + 1)];
}

export function basename(text: string): string {
  const trimmed = text.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return slash < 0 ? trimmed : trimmed.slice(slash + 1);
}

/** The command word's last path part holds an expansion (`$X`, `$(...)`), so its name is unknown. */
function basenameExpands(w: Word): boolean {
  return w.expands && /[$`]/.test(basename(w.text));
}

/** The remote command of `ssh [options] destination command...`, or null. */
function sshCommand(args: readonly string[]): string | null {
  let k = 0;
  while (k < args.length && args[k]!.startsWith('-')) {
    const opt = args[k]!;
    k++;
    // A valued option letter as the last of its cluster takes the next word (`-p 22`, `-o X=y`).
    const letter = opt[opt.length - 1]!;
    if (opt.length === 2 && 'BbcDEeFIiJLlmOoPpQRSWw'.includes(letter)) k++;
  }
  const rest = args.slice(k + 1);
  return rest.length > 0 ? rest.join(' ') : null;
}
