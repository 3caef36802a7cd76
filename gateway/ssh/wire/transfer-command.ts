// Whether an SSH exec command is the server side of a file transfer, in the exact shape the stock
// clients start it: legacy scp (`scp -O`, or OpenSSH before 9.0) runs `scp [-v] [-r] [-p] [-d]
// -t|-f [--] PATH...`, rsync runs `rsync --server [--sender] OPTIONS . PATH...`. Such a channel
// carries file data, recorded as digests (and SFTP as file events), not as input. Pure.
// Strict on purpose, because the command runs in the account's shell and a transfer's stdin is not
// recorded as input: anything the shell could read as more than one command (`scp -t x; bash`),
// a redirection, or an expansion that runs something (`$(...)`, backquotes) is not a transfer, and
// its stdin is recorded whole like any other command's. What it cannot see: a program named scp or
// rsync planted on the target (in PATH, or a shell function from ~/.bashrc) that is really a shell
// (README, security notes).

export type TransferKind = 'scp' | 'rsync';

const MAX_COMMAND = 16 * 1024;
// Unquoted, these make the shell do more than run one program with arguments.
const META = new Set([';', '&', '|', '<', '>', '(', ')', '`', '$', '\n', '\r', '#']);
// A program name as the clients send it, optionally with the absolute path of a system directory
// (rsync --rsync-path=/usr/bin/rsync). Any other directory is not accepted: a user could upload a
// shell there as `scp` (say /tmp/x/scp) and run it as a "transfer" whose stdin is never recorded.
const PROGRAM = /^(?:\/(?:usr\/(?:local\/)?)?bin\/)?(scp|rsync)$/;
const SCP_FLAGS = /^-[vrpdtfTA3]+$/;

/** The shell words of a command, or null when it is more than words (see META) or malformed. */
export function shellWords(command: string): string[] | null {
  if (command.length > MAX_COMMAND) return null;
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) return null;
      word = (word ?? '') + command.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      // Inside double quotes the shell still expands $ and backquotes, and \ escapes: none allowed.
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) if ('$`\\'.includes(command[j]!)) return null;
      if (j >= command.length) return null;
      word = (word ?? '') + command.slice(i + 1, j);
      i = j;
    } else if (c === '\\') {
      // A backslash makes the next character literal (rsync escapes spaces so); a line continuation is not.
      const next = command[i + 1];
      if (next === undefined || next === '\n' || next === '\r') return null;
      word = (word ?? '') + next;
      i++;
    } else if (META.has(c)) {
      return null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

// rsync short options that take an argument: the rest of a cluster after one is that argument
// (the server's `-logDtpre.iLsfxCIvu` has an `s` in its `-e` value, not the -s option).
const RSYNC_SHORT_WITH_ARG = new Set(['e', 'f', 'B', 'T', 'M', '@']);

/** Whether an rsync argument asks for protected (secluded) args: the real argv then comes on stdin. */
function protectsArgs(word: string): boolean {
  if (word === '--protect-args' || word === '--secluded-args' || word.startsWith('--protect-args=') || word.startsWith('--secluded-args=')) return true;
  if (!/^-[^-]/.test(word)) return false;
  for (const c of word.slice(1)) {
    if (c === 's') return true;
    if (RSYNC_SHORT_WITH_ARG.has(c)) return false;
  }
  return false;
}

/** The transfer an exec command starts, or null when it is anything else (its stdin is input). */
export function transferKind(command: string): TransferKind | null {
  const words = shellWords(command);
  const program = words?.[0] !== undefined ? PROGRAM.exec(words[0])?.[1] : undefined;
  if (!words || !program) return null;
  // `--daemon` over ssh runs an rsyncd whose config may name commands to run (pre-xfer exec): not a
  // plain transfer. Nor is one with protected args (-s): the server reads the rest of its argv from
  // stdin, where `--daemon --config=...` is unseen here (rsync then starts the daemon).
  if (program === 'rsync') {
    return words[1] === '--server' && !words.some((w) => w === '--daemon' || w.startsWith('--config') || protectsArgs(w)) ? 'rsync' : null;
  }
  // scp: flags first, one of them -t (sink) or -f (source), then optionally --, then paths.
  let i = 1;
  let mode = false;
  for (; i < words.length && SCP_FLAGS.test(words[i]!); i++) if (/[tf]/.test(words[i]!)) mode = true;
  if (words[i] === '--') i++;
  return mode && i < words.length ? 'scp' : null;
}
