// Asking the person at the terminal a question: the controlling terminal (/dev/tty), not standard
// input, so a password piped on stdin and an answer typed at the keyboard do not mix. Without a
// terminal (scripts, CI, a service, output not going to a terminal) there is nobody to ask: the answer is null and the caller
// must fail with a message naming the flags that make the question unnecessary.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

export type Ask = (question: string) => Promise<string | null>;

export const askAtTerminal: Ask = (question) => {
  // A person is there only if our output reaches a terminal too: a script run from someone's
  // shell (a test runner, cron under a session) has a /dev/tty but nobody reading our questions.
  if (!process.stdout.isTTY && !process.stderr.isTTY) return Promise.resolve(null);
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return Promise.resolve(null);
  }
  try {
    writeSync(fd, question);
    // One line, read byte by byte so nothing past the answer is taken from the terminal.
    const bytes: number[] = [];
    const one = Buffer.alloc(1);
    while (bytes.length < 1024 && readSync(fd, one, 0, 1, null) === 1 && one[0] !== 0x0a) bytes.push(one[0]!);
    return Promise.resolve(Buffer.from(bytes).toString('utf8').replace(/\r$/, ''));
  } catch {
    return Promise.resolve(null);
  } finally {
    closeSync(fd);
  }
};
